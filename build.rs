fn main() {
    // Migrations and schema documents are embedded in the binary.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schemas");
}
