//! The TOML config: what it accepts, and every class of mistake with where it is.

use std::time::Duration;

use exokern::config::{ChannelKind, Config, ConfigError, Runner};
use exokern::kernel::Visibility;
use exokern::policy::Risk;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "test.toml", ".")
}

/// The error's text, which must say where and what.
fn fails(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn a_full_config_loads_with_its_defaults() {
    let config = parse(
        r#"
        [kernel]
        id = "demo"
        heartbeat_ms = 250
        [[kernel.policy.rules]]
        name = "all"
        on = "capability"
        effect = "allow"

        [[channels]]
        id = "jobs"
        kind = "work_queue"
        capacity = 100
        lease_ms = 2000
        max_attempts = 3

        [[channels]]
        id = "ticks"
        kind = "broadcast"
        retention = 8
        visibility = "public"

        [[executors]]
        name = "deploy"
        risk = "high"
        run = "echo"

        [[modules]]
        id = "clock"
        framework = "ticker"
        channels = ["ticks", "jobs"]
        settings = { every_ms = 100, payload = { job = "build" } }

        [[modules]]
        id = "crew"
        framework = "worker"
        channels = ["jobs"]
        executors = ["deploy"]
        settings = { executor = "deploy" }
        "#,
    )
    .unwrap();
    assert_eq!(config.kernel.id, "demo");
    assert_eq!(config.kernel.name, "demo");
    assert_eq!(config.kernel.heartbeat, Duration::from_millis(250));
    assert_eq!(config.kernel.policy.rules().len(), 1);
    assert_eq!(config.kernel.network.port, 8100);
    let jobs = &config.channels[0];
    assert_eq!(
        (jobs.kind, jobs.capacity, jobs.lease, jobs.max_attempts),
        (
            ChannelKind::WorkQueue,
            Some(100),
            Some(Duration::from_secs(2)),
            Some(3)
        )
    );
    assert_eq!(config.channels[1].visibility, Visibility::Public);
    assert_eq!(config.executors[0].risk, Risk::High);
    assert_eq!(config.executors[0].run, Some(Runner::Echo));
    let clock = &config.modules[0];
    assert_eq!(clock.settings["payload"]["job"], "build");
    assert_eq!(clock.channels.len(), 2);
    assert_eq!(config.modules[1].executors, ["deploy"]);
}

#[test]
fn an_empty_file_is_a_kernel_that_denies_everything() {
    let config = parse("").unwrap();
    assert_eq!(config.kernel.id, "exokern");
    assert!(config.kernel.policy.rules().is_empty());
    assert!(config.modules.is_empty());
    let network = parse("[kernel.network]\nhost = \"0.0.0.0\"\nport = 9000\n").unwrap();
    assert_eq!(
        (
            network.kernel.network.host.as_str(),
            network.kernel.network.port
        ),
        ("0.0.0.0", 9000)
    );
}

#[test]
fn unknown_keys_are_named_with_their_line_and_what_is_allowed() {
    let error = fails(
        "[kernel]\nid = \"k\"\n\n[[channels]]\nid = \"a\"\nkind = \"broadcast\"\nretension = 4\n",
    );
    assert!(error.contains("line 7"), "{error}");
    assert!(error.contains("unknown field `retension`"), "{error}");
    assert!(
        error.contains("`retention`"),
        "lists what is allowed: {error}"
    );
    let error = fails("[kernal]\n");
    assert!(error.contains("unknown field `kernal`"), "{error}");
}

#[test]
fn wrong_types_and_unknown_values_say_what_was_expected() {
    let error = fails("[kernel]\nheartbeat_ms = \"fast\"\n");
    assert!(error.contains("line 2"), "{error}");
    let error = fails("[[channels]]\nid = \"a\"\nkind = \"queue\"\n");
    assert!(error.contains("unknown variant `queue`"), "{error}");
    assert!(error.contains("work_queue"), "{error}");
    let error = fails("[[executors]]\nname = \"x\"\nrisk = \"extreme\"\n");
    assert!(error.contains("unknown variant `extreme`"), "{error}");
}

#[test]
fn cross_checks_fail_at_load_with_the_place() {
    let cases = [
        (
            "[[channels]]\nid = \"a\"\nkind = \"broadcast\"\n[[channels]]\nid = \"a\"\nkind = \"mailbox\"\n",
            "test.toml:5:6: channel `a` is defined twice",
        ),
        (
            "[[channels]]\nid = \"kernel.audit\"\nkind = \"broadcast\"\n",
            "test.toml:2:6: channel id:",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"lllm\"\n",
            "test.toml:3:13: module `m`: unknown framework `lllm`; the built-in ones are noop, ticker",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"logger\"\nchannels = [\"nowhere\"]\n",
            "test.toml:4:13: module `m`: no channel `nowhere`",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"worker\"\nexecutors = [\"ghost\"]\n",
            "test.toml:4:14: module `m`: no executor `ghost`",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"noop\"\n[[modules]]\nid = \"m\"\nframework = \"noop\"\n",
            "test.toml:5:6: module `m` is defined twice",
        ),
        (
            "[[modules]]\nid = \"kernel.core\"\nframework = \"noop\"\n",
            "test.toml:2:6: module id:",
        ),
        (
            "[[channels]]\nid = \"q\"\nkind = \"work_queue\"\nretention = 3\n",
            "test.toml:4:13: channel `q`: `retention` applies to broadcast channels only",
        ),
        (
            "[[channels]]\nid = \"b\"\nkind = \"broadcast\"\nlease_ms = 3\n",
            "`lease_ms` applies to work_queue channels only",
        ),
        (
            "[[channels]]\nid = \"q\"\nkind = \"work_queue\"\ncapacity = 0\n",
            "test.toml:4:12: channel `q`: `capacity` is 0",
        ),
        (
            "[kernel]\nheartbeat_ms = 0\n",
            "test.toml:2:16: `heartbeat_ms` is 0",
        ),
        (
            "[[executors]]\nname = \"a b\"\nrisk = \"low\"\n",
            "executor name \"a b\"",
        ),
        (
            "[kernel.network]\nmax_body_bytes = 0\n",
            "test.toml:1:1: `kernel.network.max_body_bytes` is 0",
        ),
        (
            "[[remotes]]\nid = \"r\"\nchannels = [\"nowhere\"]\n",
            "test.toml:3:13: remote `r`: no channel `nowhere`",
        ),
        (
            "[[channels]]\nid = \"a\"\nkind = \"broadcast\"\n[[remotes]]\nid = \"r\"\nchannels = [{ id = \"a\", rights = \"READ\" }]\n",
            "test.toml:6:13: remote `r`: channel `a` is private, and remotes reach only public channels",
        ),
        (
            "[[modules]]\nid = \"m\"\nframework = \"noop\"\n[[remotes]]\nid = \"m\"\n",
            "test.toml:5:6: system `m` is defined twice",
        ),
        (
            "[[remotes]]\nid = \"r\"\nexecutors = [\"ghost\"]\n",
            "test.toml:3:14: remote `r`: no executor `ghost`",
        ),
        (
            "[[remotes]]\nid = \"r\"\n[[remotes.tokens]]\nid = \"../etc\"\nsha256 = \"00\"\n",
            "test.toml:3:1: remote `r`: token record `../etc`: the id must be 16 hex digits",
        ),
        (
            "[kernel]\npolicy_file = \"p.toml\"\n[kernel.policy]\nrules = []\n",
            "both `kernel.policy` and `kernel.policy_file` are set",
        ),
    ];
    for (text, expected) in cases {
        let error = parse(text).unwrap_err();
        assert!(
            matches!(error, ConfigError::Invalid { .. }),
            "{text}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{text}\n{error}");
    }
}

#[test]
fn a_policy_typo_fails_closed_at_load() {
    let error =
        fails("[[kernel.policy.rules]]\nname = \"r\"\non = \"capability\"\neffect = \"Allow\"\n");
    assert!(error.contains("unknown variant `Allow`"), "{error}");
}

#[test]
fn paths_resolve_against_the_config_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(
        dir.path().join("conf/rules.json"),
        r#"{"rules": [{"name": "all", "on": "action", "effect": "allow"}]}"#,
    )
    .unwrap();
    let file = dir.path().join("conf/exokern.toml");
    std::fs::write(
        &file,
        "[kernel]\npolicy_file = \"rules.json\"\naudit_file = \"logs/audit.jsonl\"\n",
    )
    .unwrap();
    let config = Config::load(&file).unwrap();
    assert_eq!(config.kernel.policy.rules()[0].name.as_ref(), "all");
    assert_eq!(
        config.kernel.audit_file.unwrap(),
        dir.path().join("conf/logs/audit.jsonl")
    );

    std::fs::write(
        dir.path().join("conf/bad.toml"),
        "[[rules]]\nname = \"x\"\non = \"action\"\neffect = \"allow\"\nrisk = \"low\"\n",
    )
    .unwrap();
    std::fs::write(&file, "[kernel]\npolicy_file = \"bad.toml\"\n").unwrap();
    let error = Config::load(&file).unwrap_err().to_string();
    assert!(error.contains(":2:15: in the policy file"), "{error}");
    assert!(error.contains("unknown field `risk`"), "{error}");

    std::fs::write(&file, "[kernel]\npolicy_file = \"missing.toml\"\n").unwrap();
    let error = Config::load(&file).unwrap_err().to_string();
    assert!(error.contains("cannot read the policy file"), "{error}");
    let missing = Config::load(dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing:?}");
}

#[test]
fn durable_channels_and_their_storage_load_with_defaults() {
    use exokern::config::{StoreKind, Sync};
    let config = Config::parse(
        r#"
        [kernel]
        audit_store = "disk"

        [kernel.storage]
        dir = "state"
        batch_ms = 5
        batch_max = 100

        [[channels]]
        id = "jobs"
        kind = "work_queue"
        store = "disk"

        [[channels]]
        id = "news"
        kind = "broadcast"
        "#,
        "durable.toml",
        "/srv/app",
    )
    .unwrap();
    let storage = &config.kernel.storage;
    assert_eq!(storage.dir, std::path::Path::new("/srv/app/state"));
    assert_eq!(
        storage.sync,
        Sync::Batch {
            window: Duration::from_millis(5),
            max_changes: 100
        }
    );
    assert_eq!(config.channels[0].store, StoreKind::Disk);
    assert_eq!(config.channels[1].store, StoreKind::Memory);
    assert_eq!(config.kernel.audit_store, StoreKind::Disk);

    let defaults = Config::parse("", "empty.toml", "/srv/app").unwrap();
    assert_eq!(
        defaults.kernel.storage.dir,
        std::path::Path::new("/srv/app/data")
    );
    assert!(matches!(defaults.kernel.storage.sync, Sync::Batch { .. }));
    assert_eq!(defaults.kernel.audit_store, StoreKind::Memory);
    let always = parse("[kernel.storage]\nsync = \"always\"\n").unwrap();
    assert_eq!(always.kernel.storage.sync, Sync::Always);
}

#[test]
fn storage_mistakes_say_where_and_what() {
    let mailbox = fails("[[channels]]\nid = \"inbox\"\nkind = \"mailbox\"\nstore = \"disk\"\n");
    assert!(mailbox.contains("test.toml:4"), "{mailbox}");
    assert!(
        mailbox.contains("a mailbox cannot be kept on disk"),
        "{mailbox}"
    );
    let unknown = fails("[[channels]]\nid = \"jobs\"\nkind = \"work_queue\"\nstore = \"tape\"\n");
    assert!(unknown.contains("unknown variant `tape`"), "{unknown}");
    let audit = fails("[kernel]\naudit_store = \"tape\"\n");
    assert!(audit.contains("unknown variant `tape`"), "{audit}");
    let sync = fails("[kernel.storage]\nsync = \"sometimes\"\n");
    assert!(
        sync.contains("test.toml:2") && sync.contains("\"always\" or \"batch\""),
        "{sync}"
    );
    let window = fails("[kernel.storage]\nsync = \"always\"\nbatch_ms = 3\n");
    assert!(
        window.contains("test.toml:3") && window.contains("`sync = \"batch\"` only"),
        "{window}"
    );
    let zero = fails("[kernel.storage]\nbatch_ms = 0\n");
    assert!(zero.contains("1 to 1000 milliseconds"), "{zero}");
    let none = fails("[kernel.storage]\nbatch_max = 0\n");
    assert!(none.contains("give at least 1"), "{none}");
    let key = fails("[kernel.storage]\nfolder = \"x\"\n");
    assert!(key.contains("unknown field `folder`"), "{key}");
}

#[test]
fn shared_channels_and_their_server_load_with_defaults() {
    use exokern::config::{NatsCredentials, StoreKind};
    let config = Config::parse(
        r#"
        [kernel]
        id = "worker-a"

        [kernel.nats]
        url = "nats://10.0.0.5:4222"
        creds_file = "secrets/kernel.creds"

        [[channels]]
        id = "jobs"
        kind = "work_queue"
        store = "nats"
        stream = "JOBS"
        "#,
        "shared.toml",
        "/srv/app",
    )
    .unwrap();
    let nats = config.kernel.nats.as_ref().unwrap();
    assert_eq!(nats.url, "nats://10.0.0.5:4222");
    assert_eq!(
        nats.credentials,
        NatsCredentials::CredsFile("/srv/app/secrets/kernel.creds".into())
    );
    assert_eq!(nats.retry, Duration::from_secs(30));
    assert_eq!(config.channels[0].store, StoreKind::Nats);
    assert_eq!(config.channels[0].stream.as_deref(), Some("JOBS"));

    let password = parse("[kernel.nats]\nurl = \"nats://h:1\"\nuser = \"k\"\npassword = \"s3cret\"\nretry_ms = 500\n").unwrap();
    let nats = password.kernel.nats.unwrap();
    assert_eq!(nats.retry, Duration::from_millis(500));
    assert!(
        !format!("{nats:?}").contains("s3cret"),
        "the password stays out of logs"
    );
}

#[test]
fn shared_channel_mistakes_say_where_and_what() {
    let server = "[kernel.nats]\nurl = \"nats://127.0.0.1:4222\"\n";
    let no_server = fails("[[channels]]\nid = \"jobs\"\nkind = \"work_queue\"\nstore = \"nats\"\n");
    assert!(
        no_server.contains("test.toml:4") && no_server.contains("no `[kernel.nats]`"),
        "{no_server}"
    );
    let mailbox = fails(&format!(
        "{server}[[channels]]\nid = \"inbox\"\nkind = \"mailbox\"\nstore = \"nats\"\n"
    ));
    assert!(
        mailbox.contains("only work queues and broadcasts"),
        "{mailbox}"
    );
    let stream = fails("[[channels]]\nid = \"jobs\"\nkind = \"work_queue\"\nstream = \"JOBS\"\n");
    assert!(
        stream.contains("test.toml:4") && stream.contains("`store = \"nats\"` only"),
        "{stream}"
    );
    let two =
        fails("[kernel.nats]\nurl = \"nats://h:1\"\ntoken = \"t\"\ncreds_file = \"k.creds\"\n");
    assert!(
        two.contains("token and creds_file are set: keep one"),
        "{two}"
    );
    let user = fails("[kernel.nats]\nurl = \"nats://h:1\"\nuser = \"k\"\n");
    assert!(
        user.contains("test.toml:3") && user.contains("needs `password`"),
        "{user}"
    );
    let empty = fails("[kernel.nats]\nurl = \" \"\n");
    assert!(empty.contains("`kernel.nats.url` is empty"), "{empty}");
    let zero = fails("[kernel.nats]\nurl = \"nats://h:1\"\nretry_ms = 0\n");
    assert!(
        zero.contains("test.toml:3") && zero.contains("give at least 1"),
        "{zero}"
    );
    let audit = fails("[kernel]\naudit_store = \"nats\"\n");
    assert!(
        audit.contains("test.toml:2") && audit.contains("in memory or on disk"),
        "{audit}"
    );
    let key = fails("[kernel.nats]\nurl = \"nats://h:1\"\nhost = \"x\"\n");
    assert!(key.contains("unknown field `host`"), "{key}");
}
