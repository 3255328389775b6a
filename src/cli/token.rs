//! `exokern token SYSTEM`: mints a bearer token for a remote system and prints the
//! record its config keeps.

use std::process::ExitCode;

use exokern::SystemId;

/// Mints the token, prints it and its record.
pub(crate) fn run(system: &str, ttl_secs: Option<u64>) -> ExitCode {
    let system = match SystemId::new(system) {
        Ok(system) => system,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let ttl = ttl_secs.map(std::time::Duration::from_secs);
    let (token, record) = exokern::tokens::TokenStore::new().mint(system, ttl);
    println!(
        "# The token for `{}`: hand it over now, it is not kept.",
        record.system
    );
    println!("# The remote sends it as `Authorization: Bearer <token>`.");
    println!("# token = {}", token.secret());
    println!(
        "# Add this record to the [[remotes]] table of `{}`:",
        record.system
    );
    println!("[[remotes.tokens]]");
    println!("id = \"{}\"", record.id);
    println!("sha256 = \"{}\"", record.sha256);
    if let Some(expires) = record.expires {
        let secs = expires
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        println!("expires_unix = {secs}");
    }
    ExitCode::SUCCESS
}
