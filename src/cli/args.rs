//! Command-line interface definition (clap). The command names, flags and output lines named in
//! the issues are a contract: extend, never rename.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sagat: signed, auditable volunteer hours and offline-verifiable certificates.
#[derive(Debug, Parser)]
#[command(name = "sagat", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--data DIR`, shared by every command that touches a data directory.
#[derive(Debug, Args, Clone)]
pub struct DataDir {
    /// Data directory.
    #[arg(long = "data", env = "SAGAT_DATA", default_value = "./sagat-data")]
    pub data: PathBuf,
    /// The log's PostgreSQL database, for a data directory made with `sagat init --store`: a
    /// libpq connection string or `postgres://` URL (docs/ledger.md, "The log on PostgreSQL").
    #[arg(long = "store", env = "SAGAT_STORE")]
    pub store: Option<String>,
}

impl DataDir {
    /// Opens the data directory, its log where `--store` says.
    pub fn open(&self) -> anyhow::Result<crate::datadir::App> {
        crate::datadir::open_at(&self.data, self.store.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: operator key, issuer key, empty log. Prints the operator's C2SP
    /// verifier key on the last line.
    Init {
        #[command(flatten)]
        data: DataDir,
        /// C2SP origin of the log's checkpoints: a schema-less URL naming this log, e.g.
        /// `volunteers.example.kz/log`. Without it the log gets an origin of its own,
        /// `sagat.invalid/log-<random id>`, printed on init.
        #[arg(long)]
        origin: Option<String>,
        /// Issuer id (the credentials' `iss`).
        #[arg(long, default_value = "kz-volunteer-front-office")]
        issuer_id: String,
        /// Issuer name printed on certificates (English).
        #[arg(long, default_value = "Volunteer Front Office of Kazakhstan")]
        issuer_name: String,
        /// The issuer's name on Kazakh certificates (default: the front office's, with the
        /// default --issuer-name; otherwise --issuer-name).
        #[arg(long)]
        issuer_name_kk: Option<String>,
        /// The issuer's name on Russian certificates (as --issuer-name-kk).
        #[arg(long)]
        issuer_name_ru: Option<String>,
        /// The public address of the verify page, e.g. `https://verify.example.kz/v`: printed
        /// QR codes carry `<URL>#VH1:…`, so a phone camera opens the check, and certificates
        /// name it. Without it `sagat issue` prints the bare QR text and `sagat serve` uses its
        /// own address (`<public origin or http://ADDR>/verify`).
        #[arg(long)]
        verify_url: Option<String>,
    },
    /// Generate an organization key pair (PKCS#8 PEM, mode 0600). Prints the public key last.
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Organizations (operator).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Volunteers.
    Volunteer {
        #[command(subcommand)]
        command: VolunteerCommand,
    },
    /// Activities (organization).
    Activity {
        #[command(subcommand)]
        command: ActivityCommand,
    },
    /// Attest hours: one volunteer (--volunteer/--date/--hours) or a CSV file (--csv).
    Attest(AttestArgs),
    /// Correct the date and hours of an attestation (the attesting organization only).
    Correct {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        org: OrgKey,
        /// Attestation id.
        #[arg(long)]
        attestation: String,
        /// New date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// New hours, e.g. 3.5.
        #[arg(long)]
        hours: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Retract an attestation (the attesting organization only).
    Retract {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        org: OrgKey,
        /// Attestation id.
        #[arg(long)]
        attestation: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// A volunteer's hours (live attestations).
    Hours {
        #[command(flatten)]
        data: DataDir,
        /// Volunteer id.
        volunteer: String,
        /// Print JSON (`total_minutes` and breakdowns).
        #[arg(long)]
        json: bool,
    },
    /// The log: verify, checkpoint, entries, proofs.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Issue a certificate: appends `CredentialIssued` and writes the PDF. The first line of
    /// stdout is the credential id, the last line the QR text.
    Issue {
        #[command(flatten)]
        data: DataDir,
        /// Volunteer id.
        #[arg(long)]
        volunteer: String,
        /// Certificate language: kk, ru or en.
        #[arg(long)]
        lang: String,
        /// Second language for the labels (bilingual certificate).
        #[arg(long)]
        lang2: Option<String>,
        /// First day counted, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last day counted, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Count only this organization's hours.
        #[arg(long)]
        org: Option<String>,
        /// Where to write the PDF.
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a credential: appends `CredentialRevoked` (issuer-signed).
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// Credential id.
        credential_id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// The revocation status list.
    Status {
        #[command(subcommand)]
        command: StatusCommand,
    },
    /// The trust list of issuer keys.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Write the verify page as a static folder that any web server, CDN or university can
    /// host at the verify URL: the page in kk/ru/en, its script, the verifier (WebAssembly),
    /// the trust list and status list as signed now, the operator key, a web app manifest and
    /// a service worker for offline use. Write it again to refresh the lists.
    VerifySite {
        #[command(flatten)]
        data: DataDir,
        /// The folder to write (made if missing; files of the same names are replaced).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the HTTP service (API, web pages, log read API). Initializes the data directory on
    /// first start and prints the operator token once.
    Serve {
        #[command(flatten)]
        data: DataDir,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Seed a demo data set (organizations, activities, 30 volunteers, attestations).
        #[arg(long)]
        demo: bool,
        /// Mark every cookie `Secure`: the service is reached over HTTPS through a proxy.
        #[arg(long, env = "SAGAT_SECURE_COOKIES")]
        secure_cookies: bool,
        /// This server's public origin (e.g. `https://sagat.example`), for the web forms'
        /// same-origin check when a proxy rewrites the Host header.
        #[arg(long, env = "SAGAT_PUBLIC_ORIGIN")]
        public_origin: Option<String>,
    },
    /// Mint a bearer token for the operator or an organization (printed once; only its hash is
    /// stored), or list and revoke tokens (`sagat token list`, `sagat token revoke ID`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Token {
        #[command(flatten)]
        data: DataDir,
        /// An operator token.
        #[arg(long, conflicts_with = "org", required_unless_present = "org")]
        operator: bool,
        /// A token for this organization.
        #[arg(long)]
        org: Option<String>,
        /// Lifetime in days (default 365; 0: never expires; at most 3650).
        #[arg(long)]
        expires_days: Option<u32>,
        #[command(subcommand)]
        command: Option<TokenCommand>,
    },
    /// Check every file of the data directory (configuration, keys, tokens, volunteer records,
    /// certificates, and the log as `sagat log verify` does): one line per file, damaged ones
    /// marked `DAMAGED`; exits 1 if any is. Changes nothing; stop the service first.
    Check {
        #[command(flatten)]
        data: DataDir,
    },
    /// Move a data directory's log between its log file and PostgreSQL, verified on both
    /// sides: `--from DIR --to URL` copies the log file into an empty database, `--from URL
    /// --to DIR` copies the database into a new log file. Names, texts, tokens, certificates
    /// and server-held keys move with it (the old files kept as `*.before-migration`: delete
    /// them once satisfied). Stop every `sagat serve` of the log first.
    Migrate {
        /// The data directory, or the PostgreSQL connection string the log comes from.
        #[arg(long)]
        from: String,
        /// The PostgreSQL connection string, or the data directory the log goes to.
        #[arg(long)]
        to: String,
    },
    /// Verify a certificate offline: the same code as `sagat-verify` (see `sagat verify --help`).
    #[command(disable_help_flag = true)]
    Verify {
        /// Arguments of `sagat-verify`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List the live operator and organization tokens: id (a SHA-256 prefix, never the secret),
    /// role, created, expires and last use.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Revoke a token by its id (from `sagat token list`): it and every web session opened with
    /// it stop working.
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// Token id (16 hex digits).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Write the issuer-signed revocation status list (a Token Status List CWT).
    Export {
        #[command(flatten)]
        data: DataDir,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Write the operator-signed trust list (JSON) of issuer keys.
    Export {
        #[command(flatten)]
        data: DataDir,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `--org ORG --key FILE`: who signs.
#[derive(Debug, Args, Clone)]
pub struct OrgKey {
    /// Organization id.
    #[arg(long)]
    pub org: String,
    /// The organization's private key file (from `sagat keygen`).
    #[arg(long)]
    pub key: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an organization (operator-signed).
    Register {
        #[command(flatten)]
        data: DataDir,
        /// Organization id: lowercase letters, digits and '-'.
        #[arg(long)]
        id: String,
        /// The organization's public key (base64 or hex of 32 bytes, from `sagat keygen`).
        #[arg(long)]
        key: String,
        /// Name in English.
        #[arg(long)]
        name_en: String,
        /// Name in Kazakh.
        #[arg(long)]
        name_kk: Option<String>,
        /// Name in Russian.
        #[arg(long)]
        name_ru: Option<String>,
        /// Region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Record an organization's new names or region (operator-signed `OrganizationUpdated`).
    /// Options left out keep their value; an empty text removes an optional one. New
    /// certificates and the trust list use the new names; certificates issued before keep
    /// theirs.
    Update {
        #[command(flatten)]
        data: DataDir,
        /// Organization id (it never changes).
        id: String,
        /// New name in English.
        #[arg(long)]
        name_en: Option<String>,
        /// New name in Kazakh (`""` removes it).
        #[arg(long)]
        name_kk: Option<String>,
        /// New name in Russian (`""` removes it).
        #[arg(long)]
        name_ru: Option<String>,
        /// New region (`""` removes it).
        #[arg(long)]
        region: Option<String>,
    },
    /// Suspend an organization (operator).
    Suspend {
        #[command(flatten)]
        data: DataDir,
        /// Organization id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Lift a suspension (operator).
    Reinstate {
        #[command(flatten)]
        data: DataDir,
        /// Organization id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Replace an organization's key (operator).
    RotateKey {
        #[command(flatten)]
        data: DataDir,
        /// Organization id.
        id: String,
        /// The new public key.
        #[arg(long)]
        key: String,
    },
    /// List organizations.
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum VolunteerCommand {
    /// Enroll a volunteer; prints the new volunteer id on the last line.
    Enroll {
        #[command(flatten)]
        data: DataDir,
        /// Full name as the volunteer writes it (kept outside the log, erasable).
        #[arg(long)]
        name: String,
        /// Contact (phone or e-mail), optional, kept outside the log.
        #[arg(long)]
        contact: Option<String>,
    },
    /// Erase a volunteer's name, contact, stored certificates and the roles, notes and reasons
    /// typed about them. The log keeps only the random id and the texts' commitments.
    Erase {
        #[command(flatten)]
        data: DataDir,
        /// Volunteer id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// Publish an activity; prints its id.
    Publish {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        org: OrgKey,
        /// Title in English.
        #[arg(long)]
        title_en: String,
        /// Title in Kazakh.
        #[arg(long)]
        title_kk: Option<String>,
        /// Title in Russian.
        #[arg(long)]
        title_ru: Option<String>,
        /// social, ecological, medical, animal_welfare, education, media, emergency_relief, events, other.
        #[arg(long)]
        category: String,
        /// Place.
        #[arg(long)]
        place: Option<String>,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub org: OrgKey,
    /// CSV file: header `volunteer,date,hours[,activity,role,note]`; all rows or none.
    #[arg(long, conflicts_with_all = ["volunteer", "date", "hours"])]
    pub csv: Option<PathBuf>,
    /// Volunteer id.
    #[arg(long, required_unless_present = "csv")]
    pub volunteer: Option<String>,
    /// Day worked, YYYY-MM-DD.
    #[arg(long, required_unless_present = "csv")]
    pub date: Option<String>,
    /// Hours worked, e.g. 3.5 (rounded to the minute).
    #[arg(long, required_unless_present = "csv")]
    pub hours: Option<String>,
    /// Activity id.
    #[arg(long)]
    pub activity: Option<String>,
    /// Role.
    #[arg(long)]
    pub role: Option<String>,
    /// Note (no personal data).
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Replay everything: every signature, every rule, the Merkle root against the checkpoint.
    Verify {
        #[command(flatten)]
        data: DataDir,
    },
    /// Print the latest signed checkpoint note.
    Checkpoint {
        #[command(flatten)]
        data: DataDir,
    },
    /// Write entry N's exact stored bytes to stdout.
    Entry {
        #[command(flatten)]
        data: DataDir,
        /// Entry index.
        #[arg(long)]
        index: u64,
    },
    /// Print a C2SP tlog-proof@v1 inclusion proof for entry N against the latest checkpoint.
    Proof {
        #[command(flatten)]
        data: DataDir,
        /// Entry index.
        #[arg(long)]
        index: u64,
    },
}
