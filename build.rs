//! Generates include/mpive.h from src/capi.rs with cbindgen.

fn main() {
    println!("cargo:rerun-if-changed=src/capi.rs");
    println!("cargo:rerun-if-changed=src/stats.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let header = cbindgen::Builder::new()
        .with_config(config)
        .with_src(format!("{dir}/src/capi.rs"))
        .with_src(format!("{dir}/src/stats.rs"))
        .generate()
        .expect("cbindgen could not parse src/capi.rs");
    std::fs::create_dir_all(format!("{dir}/include")).expect("create include/");
    header.write_to_file(format!("{dir}/include/mpive.h"));
}
