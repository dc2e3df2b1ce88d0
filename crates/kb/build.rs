//! Rebuilds the crate when the embedded knowledge base changes. It only embeds; validation
//! happens at load time and in the test suite, where problems can be reported well.
fn main() {
    println!("cargo:rerun-if-changed=../../kb");
}
