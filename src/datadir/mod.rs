//! The data directory: keys, configuration, and the opened ledger. Shared by the CLI and the
//! HTTP service so both see exactly the same state.
//!
//! Layout of `--data DIR`:
//! - `sagat.json` — configuration (log origin, issuer id and name), written by `sagat init`;
//! - `operator.key`, `issuer.key` — Ed25519 private keys, PKCS#8 PEM (RFC 8410), mode 0600;
//! - `log/` — the ledger (record of truth + indexes), owned by `sagat-ledger`;
//! - `volunteers/` — the erasable personal-data store (names), owned by `sagat-ledger`.

pub mod certstore;
pub mod check;
mod migrate;
pub mod orgkeys;
pub mod tokens;

pub use migrate::{migrate, Beside, Migrated};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use sagat_issuer::IssuerIdentity;
use std::sync::Arc;

use sagat_ledger::{
    Ledger, LedgerOptions, SharedStore, Startup, TextDirectory, VolunteerDirectory,
};
use sagat_verifier::NoteSigner;

/// A C2SP log origin of its own for a log whose operator chose none (`sagat init` without
/// `--origin`, the first `sagat serve`): the origin identifies the log (c2sp.org/tlog-checkpoint),
/// so no two logs may share one. `sagat.invalid/log-` and a random 64-bit log id in hex: unique,
/// and plainly not a real address; an operator names a real log with `sagat init --origin
/// <host>/<path>` (docs/ledger.md, "The log's origin").
pub fn generated_origin() -> String {
    format!(
        "sagat.invalid/log-{}",
        hex::encode(rand::random::<[u8; 8]>())
    )
}

/// `DIR/sagat.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// C2SP origin line of the log's checkpoints.
    pub origin: String,
    /// Issuer id used in `IssuerKeyRegistered` and the credentials' `iss` claim.
    pub issuer_id: String,
    /// Issuer display name printed on certificates (in English, and in a language without a
    /// name of its own).
    pub issuer_name: String,
    /// The issuer's name in Kazakh (`sagat init --issuer-name-kk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_name_kk: Option<String>,
    /// The issuer's name in Russian (`sagat init --issuer-name-ru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_name_ru: Option<String>,
    /// The operator's verify address (`sagat init --verify-url`): printed certificates carry
    /// their QR code in the URL form `<verify URL>#VH1:…` and name the address. Absent: the
    /// bare QR text (and `sagat serve` uses its own address, [`App::with_verify_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
    /// Where the log's record of truth lives: absent for `DIR/log`, `"postgres"` for a
    /// PostgreSQL database (`sagat init --store URL`). The connection string itself is not
    /// kept here (it may hold a password): every command is given it (`--store`, `SAGAT_STORE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_store: Option<String>,
}

/// [`Config::log_store`] of a data directory whose log is on PostgreSQL.
pub const LOG_STORE_POSTGRES: &str = "postgres";

/// The default configuration has an origin of its own ([`generated_origin`]).
impl Default for Config {
    fn default() -> Self {
        Config {
            origin: generated_origin(),
            issuer_id: "kz-volunteer-front-office".to_string(),
            issuer_name: "Volunteer Front Office of Kazakhstan".to_string(),
            issuer_name_kk: Some("Қазақстанның волонтерлік фронт-офисі".to_string()),
            issuer_name_ru: Some("Волонтёрский фронт-офис Казахстана".to_string()),
            verify_url: None,
            log_store: None,
        }
    }
}

/// An opened data directory.
pub struct App {
    /// The data directory.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: Config,
    /// The operator's log key.
    pub operator_key: SigningKey,
    /// The issuer identity and key.
    pub issuer: IssuerIdentity,
    /// The ledger.
    pub ledger: Ledger,
    /// Volunteer names (outside the log).
    pub directory: VolunteerDirectory,
    /// Roles, notes and reasons (outside the log; the log holds their commitments).
    pub texts: TextDirectory,
    /// The shared state on PostgreSQL (tokens, names, texts, organization keys, certificates)
    /// when the log is there; `None`: all of it in this directory's files.
    pub shared: Option<Arc<SharedStore>>,
}

/// Space of the volunteer directory in the shared state's `sagat_sealed`.
pub const SHARED_VOLUNTEERS: &str = "volunteers";

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("sagat.json")
}

/// Is `dir` an initialized data directory?
pub fn is_initialized(dir: &Path) -> bool {
    config_path(dir).exists()
}

/// Writes `bytes` to `path` with mode 0600, failing if it already exists (keys are never
/// overwritten by accident).
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (does it already exist?)", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Generates a new Ed25519 key.
pub fn generate_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// Writes a key as PKCS#8 PEM, mode 0600.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<()> {
    let pem = key
        .to_pkcs8_pem(Default::default())
        .context("encoding key as PKCS#8")?;
    write_secret_file(path, pem.as_bytes())
}

/// Reads a PKCS#8 PEM Ed25519 key.
pub fn read_key(path: &Path) -> Result<SigningKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a PKCS#8 Ed25519 private key: {e}",
            path.display()
        )
    })
}

/// Creates and initializes `dir`: config, operator and issuer keys, the ledger with the issuer
/// key registered. Returns the opened app.
pub fn init(dir: &Path, config: Config, now: i64) -> Result<App> {
    init_at(dir, config, now, None)
}

/// [`init`] with the log on the PostgreSQL database `store` (a new database, or one holding no
/// Sagat log yet) when given.
pub fn init_at(dir: &Path, mut config: Config, now: i64, store: Option<&str>) -> Result<App> {
    if is_initialized(dir) {
        bail!("{} is already initialized", dir.display());
    }
    if let Some(url) = &config.verify_url {
        sagat_verifier::check_verify_url(url).map_err(|e| anyhow::anyhow!("--verify-url: {e}"))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let operator = generate_key();
    let issuer = generate_key();
    write_key(&dir.join("operator.key"), &operator)?;
    write_key(&dir.join("issuer.key"), &issuer)?;
    config.log_store = store.map(|_| LOG_STORE_POSTGRES.to_string());
    let app = open_with(dir, config.clone(), operator, issuer, store)?;
    if app.ledger.size() > 0 {
        bail!(
            "the store already holds a log of {} entries: a new data directory needs an empty database",
            app.ledger.size()
        );
    }
    let event = sagat_verifier::Event {
        v: sagat_verifier::EVENT_VERSION,
        id: new_id(),
        created: now,
        body: sagat_verifier::EventBody::IssuerKeyRegistered(sagat_verifier::IssuerKeyRegistered {
            issuer: config.issuer_id.clone(),
            name: config.issuer_name.clone(),
            public_key: app.issuer.key.verifying_key().to_bytes().to_vec(),
            valid_from: now,
            valid_until: None,
        }),
    };
    app.ledger
        .append(sagat_verifier::sign_event(&event, &app.operator_key))
        .context("registering the issuer key")?;
    // Written last: a crash before this leaves a directory that `init` can be told to redo
    // by removing it, never a half-configured one that looks initialized.
    write_config(dir, &config)?;
    Ok(app)
}

/// Writes `DIR/sagat.json` whole or not at all (a synced temporary file renamed over it).
fn write_config(dir: &Path, config: &Config) -> Result<()> {
    let json = serde_json::to_vec_pretty(config)?;
    let tmp = dir.join("sagat.json.tmp");
    fs::write(&tmp, json)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, config_path(dir))?;
    Ok(())
}

/// The log's latest signed checkpoint, read without opening the ledger (no replay, no rule
/// state: `sagat_ledger::latest_checkpoint`); `None` when only opening can answer (recovery to
/// do, a directory not initialized, or a running server holding it).
pub fn latest_checkpoint(dir: &Path, store: Option<&str>) -> Result<Option<String>> {
    if !is_initialized(dir) {
        return Ok(None);
    }
    let config = read_config(dir)?;
    let operator = read_key(&dir.join("operator.key"))?.verifying_key();
    if let Some(url) = log_store(dir, &config, store)? {
        return sagat_ledger::latest_checkpoint_postgres(url, operator, &config.origin)
            .map_err(anyhow::Error::new);
    }
    match sagat_ledger::latest_checkpoint(&dir.join("log"), operator, &config.origin) {
        Ok(note) => Ok(note),
        Err(sagat_ledger::Error::InUse { .. }) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// The PostgreSQL connection string of a data directory whose log is there (`None` for the log
/// in `DIR/log`); fails when `store` does not fit the directory.
pub fn log_store<'a>(
    dir: &Path,
    config: &Config,
    store: Option<&'a str>,
) -> Result<Option<&'a str>> {
    match (config.log_store.as_deref(), store) {
        (None, None) => Ok(None),
        (Some(LOG_STORE_POSTGRES), Some(url)) => Ok(Some(url)),
        (Some(LOG_STORE_POSTGRES), None) => bail!(
            "{} keeps its log on PostgreSQL: give its connection string with --store URL (or SAGAT_STORE)",
            dir.display()
        ),
        (None, Some(_)) => bail!(
            "{} keeps its log in {}; --store is for a data directory made with `sagat init --store URL`",
            dir.display(),
            dir.join("log").display()
        ),
        (Some(other), _) => bail!(
            "{}: log store {other:?} in sagat.json is not known to this version",
            dir.display()
        ),
    }
}

/// Opens the data directory's ledger, its log in `DIR/log` or on PostgreSQL (see
/// [`log_store`]). The ledger's error stays typed, so a command can tell "a running server holds
/// it" (`InUse`) from damage.
pub fn open_ledger(
    dir: &Path,
    config: &Config,
    operator: SigningKey,
    store: Option<&str>,
) -> Result<Ledger> {
    let options = LedgerOptions {
        origin: config.origin.clone(),
        ..LedgerOptions::default()
    };
    let log = dir.join("log");
    Ok(match log_store(dir, config, store)? {
        None => Ledger::open(&log, operator, options),
        Some(url) => Ledger::open_postgres(&log, url, operator, options),
    }?)
}

/// `sagat log verify` of the data directory's log, in its log file or on PostgreSQL (see
/// [`log_store`]): the outer error when `store` does not fit the directory, the inner one the
/// first bad entry.
pub fn verify_log(
    dir: &Path,
    config: &Config,
    operator: &ed25519_dalek::VerifyingKey,
    store: Option<&str>,
) -> Result<Result<sagat_ledger::VerifyReport, sagat_ledger::VerifyFailure>> {
    Ok(match log_store(dir, config, store)? {
        None => sagat_ledger::verify_log(&dir.join("log"), operator, None),
        Some(url) => sagat_ledger::verify_postgres(url, operator, None),
    })
}

/// Opens an initialized data directory.
pub fn open(dir: &Path) -> Result<App> {
    open_at(dir, None)
}

/// [`open`] for a data directory whose log may be on PostgreSQL (`store`, see [`log_store`]).
pub fn open_at(dir: &Path, store: Option<&str>) -> Result<App> {
    if !is_initialized(dir) {
        bail!(
            "{} is not a Sagat data directory (run `sagat init --data {}` first)",
            dir.display(),
            dir.display()
        );
    }
    let config: Config = serde_json::from_slice(&fs::read(config_path(dir))?)
        .with_context(|| format!("{} is damaged", config_path(dir).display()))?;
    let operator = read_key(&dir.join("operator.key"))?;
    let issuer = read_key(&dir.join("issuer.key"))?;
    open_with(dir, config, operator, issuer, store)
}

fn open_with(
    dir: &Path,
    config: Config,
    operator: SigningKey,
    issuer: SigningKey,
    store: Option<&str>,
) -> Result<App> {
    let url = log_store(dir, &config, store)?;
    let ledger = open_ledger(dir, &config, operator.clone(), store)?;
    let cut = ledger.recovery();
    if cut.cut_bytes > 0 {
        eprintln!(
            "recovery: removed {} entr{} ({} bytes) written after the log's last checkpoint: an append interrupted before it was acknowledged (crash, power cut or full disk); nothing acknowledged was lost",
            cut.cut_entries,
            if cut.cut_entries == 1 { "y" } else { "ies" },
            cut.cut_bytes
        );
    }
    // The snapshot is a cache of what replay computes; when it cannot be used, say so once
    // (start-up took the long way, and the file was set aside for a look).
    match ledger.startup() {
        Startup::SnapshotRejected { reason, replayed } => eprintln!(
            "start-up: the snapshot of the log's state could not be used ({reason}); replayed all {replayed} entries instead and moved it aside; nothing was lost (the log is the record, the snapshot only a shortcut)"
        ),
        Startup::Replayed { replayed } if *replayed > 0 => eprintln!(
            "start-up: no snapshot of the log's state yet (none written, or the last run ended before its first): replayed all {replayed} entries"
        ),
        _ => {}
    }
    // Entries stored before the envelope rule was enforced on append: kept (signed checkpoints
    // commit to them), never silently (docs/ledger.md, "Entries outside the envelope rule").
    for v in ledger.envelope_violations() {
        eprintln!(
            "warning: log entry {} breaks the envelope rule (docs/log-format.md §2): {}; `sagat log verify` fails on it",
            v.index, v.reason
        );
    }
    let (directory, texts, shared) = match url {
        None => (
            VolunteerDirectory::open(&dir.join("volunteers"))
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            TextDirectory::open(&dir.join("texts")).map_err(|e| anyhow::anyhow!("{e}"))?,
            None,
        ),
        Some(url) => {
            // Everything mutable beside the log is in the same database (docs/ledger.md,
            // "Shared state on PostgreSQL"), so every front-end sees the same.
            let shared = Arc::new(SharedStore::open(url)?);
            (
                VolunteerDirectory::open_shared(shared.clone(), SHARED_VOLUNTEERS),
                TextDirectory::open_shared(shared.clone()),
                Some(shared),
            )
        }
    };
    Ok(App {
        dir: dir.to_path_buf(),
        issuer: IssuerIdentity {
            id: config.issuer_id.clone(),
            name: config.issuer_name.clone(),
            local_names: sagat_issuer::LocalNames {
                kk: config.issuer_name_kk.clone(),
                ru: config.issuer_name_ru.clone(),
            },
            key: issuer,
            verify_url: config.verify_url.clone(),
        },
        config,
        operator_key: operator,
        ledger,
        directory,
        texts,
        shared,
    })
}

impl App {
    /// The address printed certificates send a phone camera to: the configured one
    /// ([`Config::verify_url`]), else `fallback` (a running service's own verify page) if it is
    /// a valid verify URL ([`sagat_verifier::check_verify_url`]).
    pub fn with_verify_url(mut self, fallback: impl FnOnce() -> String) -> App {
        if self.issuer.verify_url.is_none() {
            let url = fallback();
            match sagat_verifier::check_verify_url(&url) {
                Ok(()) => self.issuer.verify_url = Some(url),
                Err(e) => {
                    tracing::warn!(%url, error = %e, "not printing a verify URL on certificates")
                }
            }
        }
        self
    }

    /// Signs `event` with `key` after replacing its typed texts by commitments (the texts are
    /// stored in [`App::texts`] first, durably): the one way the server makes a log entry.
    ///
    /// # Errors
    /// The text directory's refusal of a text (`text-format`) or its storage failure, typed, so
    /// that each adapter maps it once (the service to 422 / 503 in `ops::texts_error`).
    pub fn seal_and_sign(
        &self,
        mut event: sagat_verifier::Event,
        key: &SigningKey,
    ) -> std::result::Result<Vec<u8>, sagat_ledger::Error> {
        self.texts
            .commit(&self.ledger, std::slice::from_mut(&mut event))?;
        Ok(sagat_verifier::sign_event(&event, key))
    }

    /// The operator's C2SP note verifier key (`name+hexkeyid+base64`).
    pub fn operator_vkey(&self) -> String {
        NoteSigner::new(&self.config.origin, self.operator_key.clone())
            .expect("origin is a valid note key name")
            .verifier()
            .to_vkey_string()
    }
}

/// Checks an organization or volunteer id is safe as a file name in the data directory and as a
/// URL path segment: 1..=64 of `a-z 0-9 - _ .`, not starting with `.`.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// A new random 128-bit id as 32 lowercase hex digits.
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    hex::encode(b)
}

/// A new volunteer id whose key shard in the volunteer directory is not damaged (a damaged
/// shard refuses writes; `sagat check` lists it).
pub fn new_volunteer_id(directory: &VolunteerDirectory) -> String {
    (0..1024)
        .map(|_| new_id())
        .find(|id| directory.accepts(id))
        .unwrap_or_else(new_id)
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The file where a running `sagat serve` says where it listens (`http://host:port`), so a
/// command beside it can ask it for what the data directory's lock keeps it from reading.
pub const SERVE_ADDR_FILE: &str = "serve.addr";

/// The address a running `sagat serve` on `dir` wrote ([`SERVE_ADDR_FILE`]), if any.
pub fn serve_addr(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(SERVE_ADDR_FILE)).ok()?;
    let addr = text.trim();
    addr.starts_with("http://").then(|| addr.to_string())
}

/// Whether `err` is the ledger's "data directory in use" (another process holds its lock).
pub fn is_in_use(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<sagat_ledger::Error>(),
        Some(sagat_ledger::Error::InUse { .. })
    )
}

/// The data directory's configuration (`sagat.json`), read without opening the ledger.
pub fn read_config(dir: &Path) -> Result<Config> {
    serde_json::from_slice(&fs::read(config_path(dir))?)
        .with_context(|| format!("{} is damaged", config_path(dir).display()))
}
