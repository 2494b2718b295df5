//! What each CLI command does: its arguments to the use cases' checks and event bodies
//! ([`crate::ops`], the same ones the JSON API and the pages use), sign, append, print.

pub mod args;
mod served;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;

use sagat_verifier::{Event, EventBody, OrganizationKeyRotated};

use crate::cli::args::{
    ActivityCommand, AttestArgs, Command, DataDir, LogCommand, OrgCommand, OrgKey, StatusCommand,
    TokenCommand, TrustCommand, VolunteerCommand,
};
use crate::datadir::{self, new_id, now, App, Config};
use crate::ops::fields::Reason;
use crate::ops::{self, attest_csv};

/// Writes `bytes` to `path` via a temporary file and a rename, so a reader never sees half a file.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The operator's note verifier key, as the running server at `base` publishes it.
fn operator_vkey_of(base: &str) -> Result<String> {
    let text = String::from_utf8(served::get(base, "/verify/operator.vkey")?)
        .context("the server's operator key is not UTF-8")?;
    Ok(text.trim().to_string())
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ`, or `never`.
fn utc(t: Option<i64>) -> String {
    let Some(t) = t else {
        return "never".to_string();
    };
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Runs one command. A command refused because `sagat serve` holds the data directory says how
/// to do it through the server (`served::explain_in_use`).
pub fn run(command: Command) -> Result<ExitCode> {
    run_command(command).map_err(served::explain_in_use)
}

fn run_command(command: Command) -> Result<ExitCode> {
    match command {
        Command::Init {
            data,
            origin,
            issuer_id,
            issuer_name,
            issuer_name_kk,
            issuer_name_ru,
            verify_url,
        } => {
            let generated = origin.is_none();
            // The default names go together: a custom --issuer-name is not the front office.
            let defaults = Config::default();
            let (kk, ru) = if issuer_name == defaults.issuer_name {
                (
                    issuer_name_kk.or(defaults.issuer_name_kk),
                    issuer_name_ru.or(defaults.issuer_name_ru),
                )
            } else {
                (issuer_name_kk, issuer_name_ru)
            };
            let config = Config {
                origin: origin.unwrap_or_else(datadir::generated_origin),
                issuer_id,
                issuer_name,
                issuer_name_kk: kk,
                issuer_name_ru: ru,
                verify_url,
                log_store: None,
            };
            let app = datadir::init_at(&data.data, config, now(), data.store.as_deref())?;
            println!("initialized {}", app.dir.display());
            println!("log origin:   {}", app.config.origin);
            if generated {
                println!("(generated, unique to this log; name a real one with `sagat init --origin <host>/<path>`)");
            }
            println!("operator key: {}", app.dir.join("operator.key").display());
            println!("issuer key:   {}", app.dir.join("issuer.key").display());
            println!("operator verifier key (pin this to audit the log):");
            println!("{}", app.operator_vkey());
        }
        Command::Keygen { out } => {
            let key = datadir::generate_key();
            datadir::write_key(&out, &key)?;
            println!("private key written to {} (mode 0600)", out.display());
            println!("public key:");
            println!(
                "{}",
                sagat_verifier::public_key_base64(&key.verifying_key())
            );
        }
        Command::Org { command } => org(command)?,
        Command::Volunteer { command } => volunteer(command)?,
        Command::Activity { command } => activity(command)?,
        Command::Attest(args) => attest(args)?,
        Command::Correct {
            data,
            org,
            attestation,
            date,
            hours,
            reason,
        } => {
            let app = data.open()?;
            let key = datadir::read_key(&org.key)?;
            let input = ops::attestations::CorrectInput {
                date,
                hours: ops::attestations::HoursInput::Hours(hours),
                reason: Reason::new(reason),
            };
            let body =
                ops::attestations::correction(&org.org, &attestation, input).map_err(refused)?;
            let index = append(&app, body, &key)?;
            println!("corrected at log index {index}");
        }
        Command::Retract {
            data,
            org,
            attestation,
            reason,
        } => {
            let app = data.open()?;
            let key = datadir::read_key(&org.key)?;
            let body = ops::attestations::retraction(&org.org, &attestation, &Reason::new(reason))
                .map_err(refused)?;
            let index = append(&app, body, &key)?;
            println!("retracted at log index {index}");
        }
        Command::Hours {
            data,
            volunteer,
            json,
        } => {
            let app = data.open()?;
            let hours = app
                .ledger
                .read(|s| s.volunteer_hours(&volunteer))
                .with_context(|| format!("no enrolled volunteer with id {volunteer}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hours)?);
            } else {
                println!(
                    "volunteer {volunteer}: {} in {} attestation(s)",
                    fmt_hours(hours.total_minutes),
                    hours.attestations
                );
                print_breakdown("by organization", hours.by_org.iter());
                print_breakdown("by category", hours.by_category.iter());
                print_breakdown("by year", hours.by_year.iter());
            }
        }
        Command::Log { command } => return log(command),
        Command::Issue {
            data,
            volunteer,
            lang,
            lang2,
            from,
            to,
            org,
            out,
        } => {
            let app = data.open()?;
            let request = ops::certificates::IssueCertificate {
                lang,
                lang2,
                from,
                to,
                org,
            };
            let request = ops::certificates::issue_request(&volunteer, request).map_err(refused)?;
            let cert = ops::certificates::issue(&app, &request).map_err(refused)?;
            write_atomically(&out, &cert.pdf)?;
            println!("{}", cert.credential_id);
            println!(
                "issued {} to {} at log index {}; certificate written to {}",
                fmt_hours(cert.claims.hours.total_minutes),
                cert.claims.hours.holder,
                cert.log_index,
                out.display()
            );
            println!("{}", cert.qr_text);
        }
        Command::Revoke {
            data,
            credential_id,
            reason,
        } => {
            let app = data.open()?;
            let reason = Reason::new(reason).text().map_err(refused)?;
            let landed =
                ops::certificates::revoke(&app, &credential_id, &reason).map_err(refused)?;
            println!("revoked {credential_id} at log index {}", landed.index);
        }
        Command::Status {
            command: StatusCommand::Export { data, out },
        } => {
            let bytes = match served::open_for_reading(&data)? {
                served::Source::Local(app) => {
                    sagat_issuer::export_status_list(&app.ledger, &app.issuer, now())?
                }
                served::Source::Server(base) => served::get(&base, "/api/v1/status-list")?,
            };
            write_atomically(&out, &bytes)?;
            println!("status list written to {}", out.display());
        }
        Command::Trust {
            command: TrustCommand::Export { data, out },
        } => {
            let (json, vkey) = match served::open_for_reading(&data)? {
                served::Source::Local(app) => (
                    sagat_issuer::export_trust_list(&app.ledger, &app.operator_key, now())?
                        .into_bytes(),
                    app.operator_vkey(),
                ),
                served::Source::Server(base) => (
                    served::get(&base, "/api/v1/trust-list")?,
                    operator_vkey_of(&base)?,
                ),
            };
            write_atomically(&out, &json)?;
            println!("trust list written to {}", out.display());
            println!("verify it with the operator key: {vkey}");
        }
        Command::VerifySite { data, out } => {
            let (trust, status, vkey) = match served::open_for_reading(&data)? {
                served::Source::Local(app) => {
                    let now = now();
                    (
                        sagat_issuer::export_trust_list(&app.ledger, &app.operator_key, now)?,
                        sagat_issuer::export_status_list(&app.ledger, &app.issuer, now)?,
                        app.operator_vkey(),
                    )
                }
                served::Source::Server(base) => (
                    String::from_utf8(served::get(&base, "/api/v1/trust-list")?)
                        .context("the server's trust list is not UTF-8")?,
                    served::get(&base, "/api/v1/status-list")?,
                    operator_vkey_of(&base)?,
                ),
            };
            let config = datadir::read_config(&data.data)?;
            let files = crate::http::web::verify_site(&trust, &status, &vkey);
            std::fs::create_dir_all(&out)?;
            for (name, bytes) in &files {
                write_atomically(&out.join(name), bytes)?;
            }
            println!(
                "verify site written to {} ({} files)",
                out.display(),
                files.len()
            );
            match &config.verify_url {
                Some(url) => println!("host it at {url} (the address the printed QR codes open)"),
                None => println!("host it at the verify URL set with sagat init --verify-url"),
            }
        }
        Command::Serve {
            data,
            addr,
            demo,
            secure_cookies,
            public_origin,
        } => {
            crate::http::serve_command(
                &data.data,
                data.store.as_deref(),
                addr,
                demo,
                secure_cookies,
                public_origin,
            )?;
        }
        Command::Token {
            command: Some(TokenCommand::List { data }),
            ..
        } => {
            let app = data.open()?;
            let store = crate::datadir::tokens::TokenStore::of(&app)?;
            println!("id\trole\tcreated\texpires\tlast_used");
            for t in store.list_tokens(now()) {
                let role = match &t.role {
                    crate::datadir::tokens::Role::Operator => "operator".to_string(),
                    crate::datadir::tokens::Role::Org(o) => format!("org:{o}"),
                    crate::datadir::tokens::Role::Volunteer(v) => format!("volunteer:{v}"),
                };
                println!(
                    "{}\t{role}\t{}\t{}\t{}",
                    t.id,
                    utc(Some(t.created)),
                    utc(t.expires),
                    utc(t.last_used)
                );
            }
        }
        Command::Token {
            command: Some(TokenCommand::Revoke { data, id }),
            ..
        } => {
            let app = data.open()?;
            let store = crate::datadir::tokens::TokenStore::of(&app)?;
            match store.revoke_token(&id, now())? {
                Some(t) => println!("revoked token {}", t.id),
                None => bail!("no live token with id {id:?} (see `sagat token list`)"),
            }
        }
        Command::Token {
            data,
            operator,
            org,
            expires_days,
            command: None,
        } => {
            let app = data.open()?;
            let ttl =
                crate::datadir::tokens::token_ttl(expires_days).map_err(anyhow::Error::msg)?;
            let token = match (operator, org) {
                (_, Some(org)) => crate::datadir::tokens::mint_org(&app, &org, ttl)?,
                _ => crate::datadir::tokens::mint_operator(&app, ttl)?,
            };
            eprintln!(
                "id {}, expires {}",
                crate::datadir::tokens::token_id(&token),
                utc(ttl.map(|d| now() + d))
            );
            println!("token (shown once; only its hash is stored):");
            println!("{token}");
        }
        Command::Migrate { from, to } => {
            let datadir::Migrated { log, beside } = datadir::migrate(&from, &to)?;
            println!(
                "migrated {} entries; the copy verified and ends at the same signed checkpoint",
                log.entries
            );
            println!(
                "beside the log: {} volunteer records, {} text records, {} tokens, sessions and access codes, {} certificate files, {} organization keys",
                beside.volunteers, beside.texts, beside.tokens, beside.certificate_files, beside.org_keys
            );
            println!("{}", log.entries);
        }
        Command::Check { data } => {
            return crate::datadir::check::run(&data.data, data.store.as_deref())
        }
        Command::Verify { args } => {
            let argv = std::iter::once(std::ffi::OsString::from("sagat verify")).chain(args);
            return Ok(sagat_verify::main_from(argv));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_breakdown<'a, K: std::fmt::Display>(
    title: &str,
    rows: impl Iterator<Item = (K, &'a u64)>,
) {
    println!("{title}:");
    for (k, m) in rows {
        println!("  {k:<32} {}", fmt_hours(*m));
    }
}

/// `210` minutes → `3.5 h`.
pub fn fmt_hours(minutes: u64) -> String {
    let h = minutes as f64 / 60.0;
    if minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format!("{h:.2} h")
    }
}

/// A refusal of the use cases as the CLI says it: what is wrong, then the field and rule it
/// names (the same ones the API's problem documents carry).
fn refused(e: ops::Error) -> anyhow::Error {
    let p = e.problem;
    match (p.field, p.rule) {
        (Some(field), Some(rule)) => anyhow::anyhow!("{} (field {field}, rule {rule})", p.detail),
        (Some(field), None) => anyhow::anyhow!("{} (field {field})", p.detail),
        (None, Some(rule)) => anyhow::anyhow!("{} (rule {rule})", p.detail),
        (None, None) => anyhow::anyhow!("{}", p.detail),
    }
}

/// Signs (the one way: [`ops::sign`]) and appends one event; returns its log index. The
/// ledger's refusal keeps its own words (rule, event), as `sagat log verify` prints them.
fn append(app: &App, body: EventBody, key: &SigningKey) -> Result<u64> {
    let (_, bytes) = ops::sign(app, body, key).map_err(refused)?;
    let appended = app.ledger.append(bytes)?;
    Ok(appended.index)
}

fn org(command: OrgCommand) -> Result<()> {
    match command {
        OrgCommand::Register {
            data,
            id,
            key,
            name_en,
            name_kk,
            name_ru,
            region,
        } => {
            let app = data.open()?;
            let public_key = ops::organizations::parse_public_key("key", &key).map_err(refused)?;
            let request = ops::organizations::RegisterOrg {
                id: id.clone(),
                name_en,
                name_kk,
                name_ru,
                region,
                public_key: Some(key),
            };
            let body = ops::organizations::registration(&request, &public_key).map_err(refused)?;
            let index = append(&app, body, &app.operator_key)?;
            println!("registered organization {id} at log index {index}");
        }
        OrgCommand::Update {
            data,
            id,
            name_en,
            name_kk,
            name_ru,
            region,
        } => {
            let app = data.open()?;
            let changes = ops::organizations::OrgChanges {
                name_en,
                name_kk,
                name_ru,
                region,
            };
            let body = ops::organizations::update_body(&app, &id, &changes).map_err(refused)?;
            let index = append(&app, body, &app.operator_key)?;
            println!("updated organization {id} at log index {index}");
        }
        OrgCommand::Suspend { data, id, reason } => {
            let app = data.open()?;
            let body = ops::organizations::status_change(&id, &Reason::new(reason), true)
                .map_err(refused)?;
            let index = append(&app, body, &app.operator_key)?;
            println!("suspended {id} at log index {index}");
        }
        OrgCommand::Reinstate { data, id, reason } => {
            let app = data.open()?;
            let body = ops::organizations::status_change(&id, &Reason::new(reason), false)
                .map_err(refused)?;
            let index = append(&app, body, &app.operator_key)?;
            println!("reinstated {id} at log index {index}");
        }
        OrgCommand::RotateKey { data, id, key } => {
            let app = data.open()?;
            let public_key = ops::organizations::parse_public_key("key", &key).map_err(refused)?;
            let body = EventBody::OrganizationKeyRotated(OrganizationKeyRotated {
                org: id.clone(),
                public_key: public_key.to_bytes().to_vec(),
            });
            let index = append(&app, body, &app.operator_key)?;
            println!("rotated the key of {id} at log index {index}");
        }
        OrgCommand::List { data } => {
            let app = data.open()?;
            for org in app.ledger.read(|s| s.organizations()) {
                println!(
                    "{}\t{}\t{}",
                    org.org,
                    if org.suspended { "suspended" } else { "active" },
                    org.names.en
                );
            }
        }
    }
    Ok(())
}

fn volunteer(command: VolunteerCommand) -> Result<()> {
    match command {
        VolunteerCommand::Enroll {
            data,
            name,
            contact,
        } => {
            let app = data.open()?;
            let (id, body) =
                ops::volunteers::enrollment(&app, None, &name, contact).map_err(refused)?;
            let index = append(&app, body, &app.operator_key)
                .inspect_err(|_| ops::volunteers::forget(&app, &id))?;
            println!("enrolled at log index {index}; volunteer id:");
            println!("{id}");
        }
        VolunteerCommand::Erase { data, id } => {
            let app = data.open()?;
            // Issued certificates kept for download carry the name too.
            let certificates =
                crate::datadir::certstore::CertStore::for_app(&app).erase_volunteer(&id)?;
            // Roles, notes and reasons about the volunteer: the log keeps only their commitments.
            let texts = app.texts.erase(&id)?;
            if app.directory.erase(&id)? || certificates || texts {
                println!(
                    "erased the personal data of volunteer {id}; the log keeps only the random id"
                );
            } else {
                bail!("no personal data stored for volunteer {id}");
            }
        }
    }
    Ok(())
}

fn activity(command: ActivityCommand) -> Result<()> {
    match command {
        ActivityCommand::Publish {
            data,
            org,
            title_en,
            title_kk,
            title_ru,
            category,
            place,
            from,
            to,
        } => {
            let app = data.open()?;
            let key = datadir::read_key(&org.key)?;
            let id = new_id();
            let request = ops::activities::PublishActivity {
                title_en,
                title_kk,
                title_ru,
                category,
                place,
                from,
                to,
            };
            let body =
                ops::activities::published(&org.org, request, id.clone()).map_err(refused)?;
            let index = append(&app, body, &key)?;
            println!("published at log index {index}; activity id:");
            println!("{id}");
        }
    }
    Ok(())
}

fn attest(args: AttestArgs) -> Result<()> {
    let AttestArgs {
        data,
        org: OrgKey { org, key },
        csv,
        volunteer,
        date,
        hours,
        activity,
        role,
        note,
    } = args;
    let app = data.open()?;
    let key = datadir::read_key(&key)?;
    if let Some(path) = csv {
        return attest_file(&app, &org, &key, &path);
    }
    let (Some(volunteer), Some(date), Some(hours)) = (volunteer, date, hours) else {
        bail!("give --volunteer, --date and --hours, or --csv FILE");
    };
    let input = ops::attestations::AttestInput {
        volunteer,
        date,
        hours: ops::attestations::HoursInput::Hours(hours),
        activity,
        role,
        note,
    };
    let id = new_id();
    let attested =
        ops::attestations::hours_attested(&org, input, id.clone()).map_err(|refused| {
            let lines: Vec<_> = refused
                .iter()
                .map(|r| format!("--{}: {} (rule {})", r.field, r.reason, r.rule))
                .collect();
            anyhow::anyhow!("nothing was attested: {}", lines.join("; "))
        })?;
    let minutes = attested.minutes;
    let body = EventBody::HoursAttested(attested);
    let event = Event {
        v: sagat_verifier::EVENT_VERSION,
        id: id.clone(),
        created: now(),
        body,
    };
    let appended = app.ledger.append(app.seal_and_sign(event, &key)?)?;
    println!(
        "attested {} at log index {}; attestation id:",
        fmt_hours(minutes as u64),
        appended.index
    );
    println!("{id}");
    Ok(())
}

fn attest_file(app: &App, org: &str, key: &SigningKey, path: &std::path::Path) -> Result<()> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open CSV file {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = indicatif::ProgressBar::new(size);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes}")
            .expect("valid template"),
    );
    progress.set_message("reading");
    let (rows, mut errors) = attest_csv::parse(org, progress.wrap_read(file));
    progress.finish_and_clear();
    let mut texts = sagat_ledger::PendingTexts::default();
    let (entries, text_errors) = attest_csv::sign_rows(&rows, key, now(), &mut texts);
    // The line of each signed entry: every row's but those whose text was refused.
    let text_refused: std::collections::HashSet<_> = text_errors.iter().map(|e| e.line).collect();
    let lines: Vec<_> = rows
        .iter()
        .map(|r| r.line)
        .filter(|l| !text_refused.contains(l))
        .collect();
    errors.extend(text_errors);
    // Dry run of the signed rows against every rule, so every bad row is named, not just the
    // first one (rows refused for their text are checked as if absent).
    if !entries.is_empty() {
        errors.extend(
            ops::csv_upload::rule_errors(app, &entries, |pos| lines[pos]).map_err(refused)?,
        );
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return attest_csv::report(&errors);
    }
    app.texts.store(texts).map_err(|e| {
        anyhow::anyhow!("nothing was appended: storing the roles and notes failed: {e}")
    })?;
    let appended = app
        .ledger
        .append_batch(entries)
        .map_err(|e| anyhow::anyhow!("nothing was appended: {e}"))?;
    let first = appended.first().map(|a| a.index).unwrap_or(0);
    let last = appended.last().map(|a| a.index).unwrap_or(0);
    let minutes: u64 = rows.iter().map(|r| r.body.minutes as u64).sum();
    println!(
        "attested {} row(s), {} in total, at log indices {first}..={last}",
        rows.len(),
        fmt_hours(minutes)
    );
    Ok(())
}

fn log(command: LogCommand) -> Result<ExitCode> {
    match command {
        LogCommand::Verify { data } => {
            let DataDir { data, store } = data;
            if !datadir::is_initialized(&data) {
                bail!("{} is not a Sagat data directory", data.display());
            }
            let operator = datadir::read_key(&data.join("operator.key"))?.verifying_key();
            let config = datadir::read_config(&data)?;
            match datadir::verify_log(&data, &config, &operator, store.as_deref())? {
                Ok(report) => {
                    println!(
                        "log OK: {} entries; every signature, rule and the Merkle root against the signed checkpoint verified",
                        report.entries
                    );
                    if report.live {
                        eprintln!("(sagat serve is running and appending: checked the log as it stood, up to its latest signed checkpoint)");
                    }
                    println!("{}", report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Err(failure) => {
                    eprintln!("log verification FAILED: {failure}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        LogCommand::Checkpoint { data } => {
            // The checkpoint needs neither the rule state nor the tree: read it from the log's
            // tail when it can be, else open (recovery) or ask the running server.
            let note = match datadir::latest_checkpoint(&data.data, data.store.as_deref())? {
                Some(note) => note.into_bytes(),
                None => match served::open_for_reading(&data)? {
                    served::Source::Local(app) => app.ledger.checkpoint_note().into_bytes(),
                    served::Source::Server(base) => served::get(&base, "/log/checkpoint")?,
                },
            };
            std::io::stdout().lock().write_all(&note)?;
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Entry { data, index } => {
            let bytes = match served::open_for_reading(&data)? {
                served::Source::Local(app) => app.ledger.entry(index)?,
                served::Source::Server(base) => {
                    served::get(&base, &format!("/api/v1/log/entries/{index}"))?
                }
            };
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Proof { data, index } => {
            let proof = match served::open_for_reading(&data)? {
                served::Source::Local(app) => app.ledger.tlog_proof(index)?.into_bytes(),
                served::Source::Server(base) => {
                    served::get(&base, &format!("/api/v1/log/entries/{index}/proof"))?
                }
            };
            std::io::stdout().lock().write_all(&proof)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
