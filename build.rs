fn main() {
    // Migrations and schema documents are embedded in the binary.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schemas");
    // `ROSTER_TEST_PG_URL=none` compiles the PostgreSQL tests as ignored, so a run
    // without PostgreSQL reports them as skipped rather than passed.
    println!("cargo::rustc-check-cfg=cfg(roster_pg_tests_off)");
    println!("cargo::rerun-if-env-changed=ROSTER_TEST_PG_URL");
    if std::env::var("ROSTER_TEST_PG_URL").is_ok_and(|url| url == "none") {
        println!("cargo::rustc-cfg=roster_pg_tests_off");
    }
}
