//! Generates include/mpive.h from src/capi.rs with cbindgen, and builds the VE kernel for the
//! simulated VE (vekernel/, a host shared library `libmpive_vekernel.so` next to libmpive.so).

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
    build_vekernel(&dir);
}

/// Compiles vekernel/mpive_vekernel.c for the simulated VE with the host's C compiler ($CC, else cc)
/// into the profile's output directory (target/release), beside libmpive.so and simve's libveo.so.
/// A plain compiler call: the `cc` crate builds static archives, and this is one shared object. A
/// failure is a warning, not an error: libmpive then falls back to per-run copies (and says so).
fn build_vekernel(dir: &str) {
    println!("cargo:rerun-if-changed=vekernel/mpive_vekernel.c");
    println!("cargo:rerun-if-changed=vekernel/mpive_vekernel_mem.h");
    println!("cargo:rerun-if-env-changed=CC");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // OUT_DIR is <target>/<profile>/build/<crate>-<hash>/out
    let Some(profile_dir) = std::path::Path::new(&out).ancestors().nth(3) else { return };
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let so = profile_dir.join("libmpive_vekernel.so");
    let status = std::process::Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC", "-Wall", "-DMPIVE_VEKERNEL_SIMVE"])
        .arg(format!("-I{dir}/vekernel"))
        .arg(format!("{dir}/vekernel/mpive_vekernel.c"))
        .arg("-o")
        .arg(&so)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => println!("cargo:warning=could not build {} with {cc} ({other:?}): VE buffers will use per-run copies", so.display()),
    }
}
