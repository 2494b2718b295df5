//! `sagat-verify`: the offline check a university runs on a Sagat volunteer-hours certificate.
//!
//! The kernel (`sagat-verifier`) is pure: bytes and keys in, a verdict out. This crate is the
//! part that reads files and decodes PDFs, with the one QR-image reader of `sagat-verify-image`;
//! it is a library as well as the binary so that `sagat-verify` and `sagat verify` run the very
//! same code, and the service's pages say verdicts with the same words ([`verdict_word`]).
#![forbid(unsafe_code)]
#![allow(missing_docs)]
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use sagat_verifier::{
    check_credential_evidence, credential_id_hex, date_from_unix, format_date, open_status_list,
    open_trust_list, org_line_label, verify_credential, DirectoryOrganization, NoteVerifier,
    RevocationCheck, StatusList, TrustList, Verdict, VerdictStatus,
};

mod i18n;
use sagat_verify_pdf as pdf;

pub use i18n::Lang;
pub use sagat_verify_image::{
    decode_image_limited, read_qr, ImageError, ImageRefusal, View, MAX_IMAGE_ALLOC, MAX_IMAGE_SIDE,
    MAX_SIDE,
};

use i18n::{hours, t, T};

/// Largest file read (image, PDF, trust list, status list).
const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

const AFTER_HELP: &str = "\
EXIT CODES:
  0  VALID: every check passed (for a PDF: including its evidence)
  1  not valid: INVALID (the reason is printed), REVOKED, UNTRUSTED ISSUER, NOT YET VALID, EXPIRED;
     a QR text longer than 4096 characters is INVALID too_large, from any input
  2  bad input or usage: unreadable file, no QR code found, a file or standard input over 20 MB, a trust list or
     status list that does not verify, missing operator key
  3  EVIDENCE NOT CHECKED: the credential in a PDF verified, but the PDF's evidence
     (sagat-evidence.cbor) is missing or unreadable, so the hours were not traced to the log
     (--json: \"verdict\": \"evidence_not_checked\", \"valid\": false, \"credential_valid\": true)

INPUT:
  FILE is recognized by its first bytes: a PDF (%PDF-), a PNG or a JPEG; any other file is read
  as QR text. An argument starting with VH1: is QR text. - (or no argument) reads standard input
  the same way. --pdf and --image force the kind.

REVOCATION:
  The verdict always shows when the status list was issued (UTC) and how old it is. A status
  list at or past its exp is not used as a check: revocation reads EXPIRED (--json:
  revocation.expired = true); a credential the stale list marks revoked is still REVOKED.

TRUST:
  No issuer is trusted unless configured: give --trust trust.json (from `sagat trust export`) and
  the operator key --root 'name+hexid+base64', or put them in ~/.config/sagat/verify.toml:
      root = \"sagat.example/log+1a2b3c4d+AbC...\"
      trust = \"/path/to/trust.json\"
      status = \"/path/to/status.cwt\"

EXAMPLES:
  sagat-verify 'VH1:6BF...'                       # QR text as an argument
  sagat-verify certificate.pdf                    # a PDF, PNG or JPEG, recognized by content
  cat scan.jpg | sagat-verify -                   # the same from standard input
  zbarimg -q --raw scan.png | sagat-verify        # QR text on stdin
  sagat-verify --image photo.jpg --trust trust.json --root 'sagat.kz/log+...'
  sagat-verify --pdf certificate.pdf --status status.cwt --lang kk

See docs/verifying.md.";

/// Checks a Sagat volunteer-hours certificate offline: the issuer's signature, the trust list,
/// revocation, validity dates, and (from a PDF) every counted hour back to the signed log.
#[derive(Debug, Parser)]
#[command(name = "sagat-verify", version, after_help = AFTER_HELP)]
struct Args {
    /// The QR text (`VH1:...`), or a PDF, PNG or JPEG file (recognized by its first bytes), or
    /// `-` for standard input (also read when no input is given).
    #[arg(value_name = "QR_TEXT|FILE|-")]
    qr_text: Option<String>,
    /// A PNG or JPEG scan or photo containing the certificate's QR code.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["qr_text", "pdf"])]
    image: Option<PathBuf>,
    /// The certificate PDF: reads its QR text and checks its embedded evidence.
    #[arg(long, value_name = "FILE", conflicts_with = "qr_text")]
    pdf: Option<PathBuf>,
    /// The operator-signed trust list (from `sagat trust export`).
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// The operator's note verifier key `name+hexid+base64` the trust list must be signed with.
    #[arg(long, value_name = "VKEY")]
    root: Option<String>,
    /// The issuer's signed revocation status list (from `sagat status export`).
    #[arg(long, value_name = "FILE")]
    status: Option<PathBuf>,
    /// Language of the human-readable output.
    #[arg(long, value_enum, default_value = "en")]
    lang: Lang,
    /// Machine-readable JSON output instead of text.
    #[arg(long)]
    json: bool,
    /// Configuration file (default: ~/.config/sagat/verify.toml, if it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check validity as of this time (seconds since 1970-01-01 UTC) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS", hide = true)]
    now: Option<i64>,
}

#[derive(Debug, Default)]
struct Config {
    root: Option<String>,
    trust: Option<PathBuf>,
    status: Option<PathBuf>,
}

/// `key = "value"` lines of a TOML file (comments and blank lines ignored): the only TOML the
/// configuration needs.
fn parse_config(text: &str, path: &Path) -> Result<Config> {
    let mut c = Config::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| anyhow!("{}:{}: expected key = \"value\"", path.display(), n + 1))?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| {
                anyhow!(
                    "{}:{}: the value must be in double quotes",
                    path.display(),
                    n + 1
                )
            })?;
        match k.trim() {
            "root" => c.root = Some(v.to_string()),
            "trust" => c.trust = Some(PathBuf::from(v)),
            "status" => c.status = Some(PathBuf::from(v)),
            other => bail!(
                "{}:{}: unknown key {other:?} (root, trust, status)",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(c)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes; files larger than 20 MB are rejected",
            path.display(),
            meta.len()
        );
    }
    let mut data = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if data.len() as u64 > MAX_FILE_BYTES {
        bail!("{}: files larger than 20 MB are rejected", path.display());
    }
    Ok(data)
}

struct Input {
    qr_text: String,
    evidence: Option<Vec<u8>>,
    /// The PDF (given with `--pdf` or detected) carries `sagat-evidence.cbor` but it cannot be
    /// read: why.
    evidence_unreadable: Option<String>,
    from_pdf: bool,
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Pdf,
    Image,
    Text,
}

/// Sniffs a PDF (`%PDF-`, ISO 32000-1 §7.5.2), a PNG (its 8-byte signature) or a JPEG (SOI
/// `FF D8 FF`); anything else is taken as QR text.
fn kind_of(data: &[u8]) -> Kind {
    if data.starts_with(b"%PDF-") {
        Kind::Pdf
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") || data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Kind::Image
    } else {
        Kind::Text
    }
}

fn image_input(data: &[u8], name: &str) -> Result<Input> {
    let (text, _) = sagat_verify_image::read_qr_from_image_bytes(data).map_err(|e| match e {
        sagat_verify_image::ImageError::Unreadable(m) => {
            anyhow!("{name} is not a readable PNG or JPEG image: {m}")
        }
        sagat_verify_image::ImageError::NoQr { other_texts } if other_texts.is_empty() => anyhow!(
            "no QR code found in {name} (try a sharper scan, at least 150 dpi, the whole code in view)"
        ),
        sagat_verify_image::ImageError::NoQr { other_texts } => anyhow!(
            "{name} has QR codes, but none is a Sagat credential (VH1:...): {other_texts:?}"
        ),
        sagat_verify_image::ImageError::TooSlow => anyhow!(
            "gave up searching {name} for a QR code after {} s (crop the image to the code)",
            sagat_verify_image::SEARCH_TIME_LIMIT.as_secs()
        ),
    })?;
    Ok(Input {
        qr_text: text,
        evidence: None,
        evidence_unreadable: None,
        from_pdf: false,
    })
}

fn pdf_input(data: &[u8], name: &str) -> Result<Input> {
    let contents = pdf::read_pdf(data).map_err(|m| anyhow!("{name}: {m}"))?;
    let text = contents.qr_text.ok_or_else(|| {
        anyhow!(
            "{name} carries no QR text (no /SagatQR info entry): is it a Sagat certificate? \
             Scan its QR code with --image instead"
        )
    })?;
    Ok(Input {
        qr_text: text,
        evidence: contents.evidence,
        evidence_unreadable: contents.evidence_unreadable,
        from_pdf: true,
    })
}

fn text_input(data: Vec<u8>, name: &str) -> Result<Input> {
    let text = String::from_utf8(data).map_err(|_| {
        anyhow!("{name} is neither a PDF, a PNG nor a JPEG (by its first bytes), nor UTF-8 text")
    })?;
    if text.trim().is_empty() {
        bail!("no input: give the QR text, a PDF, PNG or JPEG file, or - for standard input (see --help)");
    }
    Ok(Input {
        qr_text: text.trim().to_string(),
        evidence: None,
        evidence_unreadable: None,
        from_pdf: false,
    })
}

/// Standard input, up to the file limit: a PDF or image is read whole, QR text up to 4 KB.
fn read_stdin() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .context("cannot read standard input")?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        bail!("standard input: inputs larger than 20 MB are rejected");
    }
    Ok(buf)
}

fn sniffed_input(data: Vec<u8>, name: &str) -> Result<Input> {
    match kind_of(&data) {
        Kind::Pdf => pdf_input(&data, name),
        Kind::Image => image_input(&data, name),
        Kind::Text => text_input(data, name),
    }
}

/// Whether a positional argument names a file rather than being QR text: QR text always
/// starts with `VH1:`, or is a link (`https://…#VH1:…`, docs/formats.md §1.4); anything else
/// that exists as a file, or ends like one of the files the tool reads, is a file (so a
/// mistyped file name is "cannot read", not a `bad_prefix`).
fn names_a_file(arg: &str) -> bool {
    let arg_start = arg.trim_start();
    if ["VH1:", "https://", "http://"]
        .iter()
        .any(|p| arg_start.starts_with(p))
    {
        return false;
    }
    let lower = arg.to_ascii_lowercase();
    Path::new(arg).is_file()
        || [".pdf", ".png", ".jpg", ".jpeg", ".txt"]
            .iter()
            .any(|e| lower.ends_with(e))
}

fn read_input(args: &Args) -> Result<Input> {
    if let Some(path) = &args.image {
        return image_input(&read_file(path)?, &path.display().to_string());
    }
    if let Some(path) = &args.pdf {
        return pdf_input(&read_file(path)?, &path.display().to_string());
    }
    match args.qr_text.as_deref() {
        None | Some("-") => sniffed_input(read_stdin()?, "standard input"),
        Some(arg) if names_a_file(arg) => {
            let path = Path::new(arg);
            sniffed_input(read_file(path)?, &path.display().to_string())
        }
        Some(text) => Ok(Input {
            qr_text: text.trim().to_string(),
            evidence: None,
            evidence_unreadable: None,
            from_pdf: false,
        }),
    }
}

/// Runs `sagat-verify` with `args` (the first item is the program name, as in `std::env::args_os`).
/// Exit codes: 0 valid, 1 not valid, 2 bad input or usage.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = Args::parse_from(args);
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sagat-verify: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Checked {
    verdict: Verdict,
    evidence: EvidenceOutcome,
    /// Organizations by registration log index, from the trust list's directory and the checked
    /// evidence: the names and ids shown for lines that carry none.
    directory: Vec<DirectoryOrganization>,
}

impl Checked {
    fn known(&self, log_index: u64) -> Option<&DirectoryOrganization> {
        self.directory.iter().find(|o| o.log_index == log_index)
    }
}

enum EvidenceOutcome {
    /// Not a PDF: there is no deep check to run.
    NotChecked,
    NoOperatorKey,
    /// The PDF has no `sagat-evidence.cbor` attachment.
    Missing,
    /// The PDF names the attachment but its bytes cannot be read.
    Unreadable(String),
    Ok {
        attestations: usize,
        size: u64,
    },
}

/// Exit status of a valid credential whose deep check (a PDF's evidence) could not be run:
/// distinct from 0 so a script never takes "not checked" for "checked".
const EXIT_EVIDENCE_NOT_CHECKED: u8 = 3;

impl Checked {
    /// The credential verified, the input was a PDF, and its evidence was not checked.
    fn evidence_not_checked(&self) -> bool {
        self.verdict.status.is_valid()
            && matches!(
                self.evidence,
                EvidenceOutcome::NoOperatorKey
                    | EvidenceOutcome::Missing
                    | EvidenceOutcome::Unreadable(_)
            )
    }

    fn exit_code(&self) -> u8 {
        if self.evidence_not_checked() {
            EXIT_EVIDENCE_NOT_CHECKED
        } else if self.verdict.status.is_valid() {
            0
        } else {
            1
        }
    }
}

fn run(args: &Args) -> Result<u8> {
    let config_path = args.config.clone().or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/sagat/verify.toml"))
    });
    let config = match &config_path {
        Some(p) if p.exists() => {
            let text = String::from_utf8(read_file(p)?)
                .map_err(|_| anyhow!("{} is not UTF-8", p.display()))?;
            parse_config(&text, p)?
        }
        Some(p) if args.config.is_some() => bail!("config file {} does not exist", p.display()),
        _ => Config::default(),
    };
    let root_text = args.root.clone().or(config.root);
    let trust_path = args.trust.clone().or(config.trust);
    let status_path = args.status.clone().or(config.status);

    let root = root_text
        .as_deref()
        .map(|r| {
            NoteVerifier::parse(r.trim())
                .map_err(|e| anyhow!("--root: not a note verifier key name+hexid+base64: {e}"))
        })
        .transpose()?;
    let trust: Option<TrustList> = match &trust_path {
        None => None,
        Some(p) => {
            let root = root.as_ref().ok_or_else(|| {
                anyhow!(
                    "--trust needs the operator key that signed it: give --root name+hexid+base64"
                )
            })?;
            let json = String::from_utf8(read_file(p)?)
                .map_err(|_| anyhow!("{} is not UTF-8 text", p.display()))?;
            Some(open_trust_list(&json, root).map_err(|e| anyhow!("{}: {e}", p.display()))?)
        }
    };
    let status: Option<StatusList> = match &status_path {
        None => None,
        Some(p) => {
            let trust = trust.as_ref().ok_or_else(|| {
                anyhow!("--status needs --trust: the status list is checked with the trusted issuer keys")
            })?;
            Some(
                open_status_list(&read_file(p)?, trust)
                    .map_err(|e| anyhow!("{}: {e}", p.display()))?,
            )
        }
    };
    let input = read_input(args)?;
    let now = args.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let mut verdict = verify_credential(
        input.qr_text.as_bytes(),
        trust.as_ref(),
        status.as_ref(),
        now,
    );
    let mut evidence = EvidenceOutcome::NotChecked;
    let mut directory: Vec<DirectoryOrganization> = trust
        .as_ref()
        .map(|t| t.organizations.clone())
        .unwrap_or_default();
    if let (Some(bytes), true) = (&input.evidence, verdict.claims.is_some()) {
        if verdict.status.is_valid() {
            match &root {
                None => evidence = EvidenceOutcome::NoOperatorKey,
                Some(root) => {
                    let checked =
                        check_credential_evidence(&mut verdict, bytes, trust.as_ref(), root);
                    if let Some(summary) = checked {
                        for o in &summary.organizations {
                            if !directory.iter().any(|d| d.log_index == o.log_index) {
                                directory.push(DirectoryOrganization {
                                    log_index: o.log_index,
                                    id: o.id.clone(),
                                    name: o.name.clone(),
                                });
                            }
                        }
                        evidence = EvidenceOutcome::Ok {
                            attestations: summary.attestations,
                            size: summary.checkpoint.size,
                        };
                    }
                }
            }
        }
    } else if input.from_pdf && input.evidence.is_none() && verdict.status.is_valid() {
        evidence = match input.evidence_unreadable {
            Some(why) => EvidenceOutcome::Unreadable(why),
            None => EvidenceOutcome::Missing,
        };
    }
    let checked = Checked {
        verdict,
        evidence,
        directory,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_output(&checked, now)).expect("JSON")
        );
    } else {
        print!("{}", human_output(&checked, args.lang, now));
    }
    Ok(checked.exit_code())
}

fn date_of(secs: i64) -> String {
    format_date(date_from_unix(secs))
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
fn datetime_of(secs: i64) -> String {
    let t = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date_of(secs),
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`), for `--json`.
fn rfc3339_of(secs: i64) -> String {
    let t = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_of(secs),
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// An age as "2 d 3 h 5 min" (the largest units that are not zero, minutes always shown).
fn age_text(lang: Lang, secs: i64) -> String {
    let mins = secs / 60;
    let (d, h, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} {}", t(lang, T::Days)));
    }
    if d > 0 || h > 0 {
        parts.push(format!("{h} {}", t(lang, T::Hours)));
    }
    parts.push(format!("{m} {}", t(lang, T::Minutes)));
    parts.join(" ")
}

/// "Status list: issued 2026-11-30 08:00:00 UTC, 1 d 2 h 0 min ago (valid until …)".
fn status_list_line(v: &Verdict, lang: Lang, now: i64) -> String {
    let Some(dates) = v.status_list else {
        return String::new();
    };
    let age = now - dates.issued_at;
    let when = if age < 0 {
        t(lang, T::StatusListFuture).replace("{date}", &datetime_of(dates.issued_at))
    } else {
        t(lang, T::StatusListIssued)
            .replace("{date}", &datetime_of(dates.issued_at))
            .replace("{age}", &age_text(lang, age))
    };
    let until = dates
        .expires
        .map(|e| {
            format!(
                " ({})",
                t(lang, T::StatusListUntil).replace("{date}", &datetime_of(e))
            )
        })
        .unwrap_or_default();
    format!("{}: {when}{until}\n", t(lang, T::StatusList))
}

fn evidence_problem(c: &Checked, lang: Lang) -> Option<String> {
    match &c.evidence {
        EvidenceOutcome::NoOperatorKey => Some(format!("{} (--root)", t(lang, T::EvidenceNoKey))),
        EvidenceOutcome::Missing => {
            Some(t(lang, T::EvidenceMissing).replace("{file}", pdf::EVIDENCE_FILE_NAME))
        }
        EvidenceOutcome::Unreadable(why) => Some(format!(
            "{} ({why})",
            t(lang, T::EvidenceUnreadable).replace("{file}", pdf::EVIDENCE_FILE_NAME)
        )),
        EvidenceOutcome::NotChecked | EvidenceOutcome::Ok { .. } => None,
    }
}

fn status_line(c: &Checked, lang: Lang) -> String {
    let v = &c.verdict;
    if c.evidence_not_checked() {
        let why = evidence_problem(c, lang).unwrap_or_default();
        return format!("{}: {why}", t(lang, T::EvidenceNotCheckedVerdict));
    }
    match &v.status {
        VerdictStatus::Invalid(r) => format!("{}: {r}", verdict_word(lang, &v.status)),
        other => verdict_word(lang, other).to_string(),
    }
}

/// The verdict's word in `lang` (ЖАРАМДЫ / ДЕЙСТВИТЕЛЕН / VALID, ...): the one wording of
/// `sagat-verify` and the service's verify page.
pub fn verdict_word(lang: Lang, status: &VerdictStatus) -> &'static str {
    t(
        lang,
        match status {
            VerdictStatus::Valid => T::Valid,
            VerdictStatus::Invalid(_) => T::Invalid,
            VerdictStatus::Revoked => T::Revoked,
            VerdictStatus::UntrustedIssuer => T::UntrustedIssuer,
            VerdictStatus::NotYetValid => T::NotYetValid,
            VerdictStatus::Expired => T::Expired,
            // A status a newer kernel adds is not a pass.
            _ => T::Invalid,
        },
    )
}

fn human_output(c: &Checked, lang: Lang, now: i64) -> String {
    let v = &c.verdict;
    let mut out = format!("{}\n", status_line(c, lang));
    if v.status == VerdictStatus::UntrustedIssuer {
        out += &format!(
            "  kid {}\n{}\n",
            v.kid.as_deref().map(hex::encode).unwrap_or_default(),
            t(lang, T::UntrustedHint)
        );
    }
    let Some(claims) = &v.claims else {
        return out + &status_list_line(v, lang, now);
    };
    let h = &claims.hours;
    out += &format!("{}: {}\n", t(lang, T::Holder), h.holder);
    out += &format!(
        "{}: {}\n",
        t(lang, T::TotalHours),
        hours(lang, h.total_minutes)
    );
    out += &format!("{}:\n", t(lang, T::Organizations));
    for o in &h.orgs {
        let name = org_line_label(o, c.known(o.org_index));
        out += &format!(
            "  {name}, {}: {}, {} – {}\n",
            i18n::category(lang, &o.category),
            hours(lang, o.minutes),
            o.first,
            o.last
        );
    }
    if let Some(m) = h.more {
        out += &format!(
            "  +{}: {}\n",
            t(lang, T::MoreOrganizations).replace("{n}", &m.organizations.to_string()),
            hours(lang, m.minutes)
        );
    }
    out += &format!(
        "{}: {} – {}\n",
        t(lang, T::Period),
        h.period_from,
        h.period_to
    );
    out += &format!(
        "{}: {} ({})\n",
        t(lang, T::Issuer),
        v.issuer_name.as_deref().unwrap_or(&claims.issuer),
        claims.issuer
    );
    out += &format!("{}: {}\n", t(lang, T::IssueDate), date_of(claims.issued_at));
    if let Some(exp) = claims.expires {
        out += &format!("{}: {}\n", t(lang, T::ValidUntil), date_of(exp));
    }
    out += &format!(
        "{}: {}\n",
        t(lang, T::CredentialId),
        credential_id_hex(&claims.id)
    );
    let revocation = match &v.revocation {
        RevocationCheck::Checked { as_of } => {
            t(lang, T::RevocationChecked).replace("{date}", &date_of(*as_of))
        }
        RevocationCheck::NotCovered(why) => format!("{}: {why}", t(lang, T::RevocationNotCovered)),
        RevocationCheck::Expired { as_of, expired_at } => t(lang, T::RevocationExpired)
            .replace("{date}", &date_of(*as_of))
            .replace("{exp}", &datetime_of(*expired_at)),
        _ => t(lang, T::RevocationNotChecked).to_string(),
    };
    out += &format!("{}: {revocation}\n", t(lang, T::Revocation));
    out += &status_list_line(v, lang, now);
    match &c.evidence {
        EvidenceOutcome::Ok { attestations, size } => {
            out += &format!(
                "{}: {}\n",
                t(lang, T::Evidence),
                t(lang, T::EvidenceOk)
                    .replace("{n}", &attestations.to_string())
                    .replace("{size}", &size.to_string())
            );
        }
        EvidenceOutcome::NoOperatorKey
        | EvidenceOutcome::Missing
        | EvidenceOutcome::Unreadable(_) => {
            out += &format!(
                "{}: {}: {}\n",
                t(lang, T::Evidence),
                t(lang, T::EvidenceNotChecked),
                evidence_problem(c, lang).unwrap_or_default()
            );
        }
        EvidenceOutcome::NotChecked => {}
    }
    out
}

fn json_output(c: &Checked, now: i64) -> serde_json::Value {
    use serde_json::json;
    let v = &c.verdict;
    let reason = match &v.status {
        VerdictStatus::Invalid(r) => Some(r.to_string()),
        _ => None,
    };
    let revocation = match &v.revocation {
        RevocationCheck::Checked { as_of } => {
            json!({"checked": true, "as_of": date_of(*as_of), "as_of_unix": as_of})
        }
        RevocationCheck::NotCovered(why) => json!({"checked": false, "reason": why}),
        RevocationCheck::Expired { as_of, expired_at } => json!({
            "checked": false, "expired": true,
            "reason": "the status list is past its exp: get a fresh one",
            "as_of": date_of(*as_of), "as_of_unix": as_of,
            "expired_at": rfc3339_of(*expired_at), "expired_at_unix": expired_at,
        }),
        _ => json!({"checked": false, "reason": "no status list given"}),
    };
    let status_list = v.status_list.map(|d| {
        json!({
            "issued_at": rfc3339_of(d.issued_at), "issued_at_unix": d.issued_at,
            "age_seconds": now - d.issued_at,
            "expires": d.expires.map(rfc3339_of), "expires_unix": d.expires,
            "expired": d.expires.is_some_and(|e| now >= e),
        })
    });
    let evidence = match &c.evidence {
        EvidenceOutcome::Ok { attestations, size } => {
            json!({"checked": true, "attestations": attestations, "checkpoint_size": size})
        }
        EvidenceOutcome::NoOperatorKey => {
            json!({"checked": false, "problem": "no_operator_key", "reason": "no operator key (--root)"})
        }
        EvidenceOutcome::Missing => json!({
            "checked": false, "problem": "missing",
            "reason": format!("the PDF has no {} attachment", pdf::EVIDENCE_FILE_NAME),
        }),
        EvidenceOutcome::Unreadable(why) => {
            json!({"checked": false, "problem": "unreadable", "reason": why})
        }
        EvidenceOutcome::NotChecked => json!({"checked": false}),
    };
    let (valid, verdict) = if c.evidence_not_checked() {
        (false, "evidence_not_checked")
    } else {
        (v.status.is_valid(), v.status.code())
    };
    let c_known = |i: u64| c.known(i);
    let credential = v.claims.as_ref().map(|c| {
        let h = &c.hours;
        json!({
            "id": credential_id_hex(&c.id),
            "issuer": c.issuer,
            "issuer_name": v.issuer_name,
            "issued_at": date_of(c.issued_at),
            "not_before": date_of(c.not_before),
            "expires": c.expires.map(date_of),
            "holder": h.holder,
            "total_minutes": h.total_minutes,
            "organizations": h.orgs.iter().map(|o| {
                let known = c_known(o.org_index);
                json!({
                    "org_index": o.org_index,
                    "org": known.map(|k| k.id.clone()),
                    "name": o.name.clone().or(known.map(|k| k.name.clone())),
                    "name_in_credential": o.name.is_some(),
                    "label": org_line_label(o, known),
                    "category": o.category, "minutes": o.minutes,
                    "first": o.first, "last": o.last,
                })
            }).collect::<Vec<_>>(),
            "more": h.more.map(|m| json!({"organizations": m.organizations, "minutes": m.minutes})),
            "period": {"from": h.period_from, "to": h.period_to},
            "checkpoint": {"size": h.checkpoint_size, "root": hex::encode(h.checkpoint_root)},
            "status_index": h.status_index,
        })
    });
    json!({
        "valid": valid,
        "verdict": verdict,
        "credential_valid": v.status.is_valid(),
        "reason": reason,
        "kid": v.kid.as_deref().map(hex::encode),
        "credential": credential,
        "revocation": revocation,
        "status_list": status_list,
        "evidence": evidence,
    })
}
