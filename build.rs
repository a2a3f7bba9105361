//! Embeds every `migrations/*.sql` file, in name order, so adding a migration is adding a file.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let mut names: Vec<String> = fs::read_dir("migrations")
        .expect("migrations/ directory")
        .map(|entry| {
            entry
                .expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    let root = env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut code = String::from("pub(crate) static MIGRATIONS: &[(&str, &str)] = &[\n");
    for name in names {
        let version = name.trim_end_matches(".sql");
        let path = Path::new(&root).join("migrations").join(&name);
        code.push_str(&format!(
            "    ({version:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("migrations.rs"),
        code,
    )
    .unwrap();
}
