fn main() {
    // The real libveo is found by applications as libveo.so.1; give the simulated one the same soname
    // so a program linked against it (-lveo) and the shim's dlopen share one instance.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libveo.so.1");
}
