//! Generates include/mpive.h from src/capi.rs with cbindgen, and builds the VE kernel for the
//! simulated VE (vekernel/, a host shared library `libmpive_vekernel.so` next to libmpive.so).

fn main() {
    println!("cargo:rerun-if-changed=src/capi.rs");
    println!("cargo:rerun-if-changed=src/stats.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // A hand edit of the committed header is undone (and shows in `git diff`) at the next build.
    println!("cargo:rerun-if-changed=include/mpive.h");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    write_header(&dir);
    build_vekernel(&dir);
}

/// Generates include/mpive.h and writes it only when its content changes: the header is committed,
/// so an unchanged one keeps its modification time (no rebuild of C code that includes it) and a
/// clean checkout stays clean. scripts/test.sh fails when the build changed it.
fn write_header(dir: &str) {
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let header = cbindgen::Builder::new()
        .with_config(config)
        .with_src(format!("{dir}/src/capi.rs"))
        .with_src(format!("{dir}/src/stats.rs"))
        .generate()
        .expect("cbindgen could not parse src/capi.rs or src/stats.rs");
    let mut text = Vec::new();
    header.write(&mut text);
    let path = format!("{dir}/include/mpive.h");
    if std::fs::read(&path).ok().as_deref() == Some(text.as_slice()) {
        return;
    }
    std::fs::create_dir_all(format!("{dir}/include")).expect("create include/");
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("cargo:warning=include/mpive.h regenerated from src/capi.rs and src/stats.rs: commit it");
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
