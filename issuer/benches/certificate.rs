//! Certificate throughput on one core, against a bare printpdf render of the same page measured in
//! the same run; PDF size; QR version by number of organizations.
//!
//! `cargo bench -p sagat-issuer --bench certificate` prints Markdown tables for
//! docs/benchmarks.md ("Issuer"). Rounds alternate between the two workloads so that machine
//! noise hits both alike; the reported figure is the median round.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use sagat_issuer::{
    qr_version, render_certificate, render_certificate_bare, sign_fitted_credential, Certificate,
    CertificateRow, Lang,
};
use sagat_verifier::{
    encode_qr_text, sign_credential, AttestationRefs, Category, CredentialClaims, HoursClaim,
    OrgLine,
};

const ORG_NAMES: [&str; 5] = [
    "Астана жастар орталығы",
    "«Мейірім» қайырымдылық қоры",
    "Алматы экологиялық қоғамы",
    "Қызыл Жарты Ай, Шымкент",
    "Өңірлік еріктілер үйі",
];

fn claims(orgs: usize) -> CredentialClaims {
    CredentialClaims {
        issuer: "kz-volunteer-front-office".into(),
        issued_at: 1_795_305_600,
        not_before: 1_795_305_600,
        expires: None,
        id: [0x3f; 16],
        hours: HoursClaim {
            holder: "Әлия Сәрсенбаева".into(),
            total_minutes: (0..orgs as u64).map(|i| 600 - i * 10).sum(),
            orgs: (0..orgs)
                .map(|i| OrgLine {
                    org_index: 1_203 + 9_151 * i as u64,
                    name: Some(if i < ORG_NAMES.len() {
                        ORG_NAMES[i].into()
                    } else {
                        format!("{} №{i}", ORG_NAMES[i % ORG_NAMES.len()])
                    }),
                    category: "social".into(),
                    minutes: 600 - i as u64 * 10,
                    first: "2026-01-10".into(),
                    last: "2026-10-28".into(),
                })
                .collect(),
            more: None,
            period_from: "2026-01-01".into(),
            period_to: "2026-10-31".into(),
            checkpoint_size: 48_213,
            checkpoint_root: [0x5a; 32],
            attestations: AttestationRefs::compact(
                (0..orgs as u64 * 4).map(|i| 1000 + i * 517).collect(),
            ),
            status_index: 1234,
        },
    }
}

fn certificate(qr_text: String) -> Certificate {
    let rows: Vec<CertificateRow> = (0..10)
        .map(|i| CertificateRow {
            date: format!("2026-{:02}-{:02}", 1 + i % 10, 1 + (i * 3) % 28),
            organization: ORG_NAMES[i % ORG_NAMES.len()].into(),
            activity: Some(format!(
                "Іс-шара {i}: қарттарға көмек және саябақты тазалау"
            )),
            category: Some(Category::Social),
            minutes: 60 + (i as u64 * 37) % 300,
            corrected: false,
        })
        .collect();
    Certificate {
        lang: Lang::Kk,
        lang2: Some(Lang::En),
        holder: "Әлия Сәрсенбаева".into(),
        total_minutes: rows.iter().map(|r| r.minutes).sum(),
        period_from: "2026-01-01".into(),
        period_to: "2026-10-31".into(),
        rows,
        credential_id: "3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f".into(),
        issued_at: 1_795_305_600,
        issuer_name: "Қазақстан еріктілер орталығы".into(),
        issuer_kid: "a1b2c3d4e5f60718".into(),
        checkpoint_size: 48_213,
        checkpoint_root: [0x5a; 32],
        qr_text,
        verify_url: None,
        evidence: vec![0xa5; 12_000],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let base_claims = claims(5);
    let full = || {
        let mut c = base_claims.clone();
        let (_, qr_text) = sign_fitted_credential(&mut c, &key, None).unwrap();
        render_certificate(&certificate(qr_text)).unwrap()
    };
    let mut c = base_claims.clone();
    let (_, qr_text) = sign_fitted_credential(&mut c, &key, None).unwrap();
    let fixed = certificate(qr_text);
    let bare = || render_certificate_bare(&fixed).unwrap();

    // Profiling mode: `SAGAT_BENCH_RENDERS=N` renders N full certificates (after one warm-up)
    // and the bare page N times, then exits, so that `valgrind --tool=callgrind` on this binary
    // counts a few renders instead of the whole timed run.
    if let Some(n) = std::env::var("SAGAT_BENCH_RENDERS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        black_box(full());
        for _ in 0..n {
            black_box(full());
            black_box(bare());
        }
        return;
    }

    // Warm up (font parse, allocator) and size the batches to ~0.2 s.
    let pdf = full();
    let bare_pdf = bare();
    let t = Instant::now();
    black_box(full());
    let per = t.elapsed().max(Duration::from_micros(50));
    let batch = ((Duration::from_millis(200).as_secs_f64() / per.as_secs_f64()) as usize).max(3);
    let rounds = 15;
    let (mut full_t, mut bare_t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(full());
        }
        full_t.push(t.elapsed() / batch as u32);
        let t = Instant::now();
        for _ in 0..batch {
            black_box(bare());
        }
        bare_t.push(t.elapsed() / batch as u32);
    }
    let (f, b) = (median(full_t), median(bare_t));
    let t = Instant::now();
    for _ in 0..batch * 5 {
        let mut c = base_claims.clone();
        black_box(sign_fitted_credential(&mut c, &key, None).unwrap());
    }
    let sign = t.elapsed() / (batch * 5) as u32;
    println!("### Certificate throughput (one core, {rounds} rounds × {batch}, median)\n");
    println!("| workload | time per certificate | certificates/s | ratio to bare |");
    println!("|---|---:|---:|---:|");
    println!(
        "| sign + QR + PDF (10 activities, kk+en, 12 kB evidence attached) | {:.2} ms | {:.0} | {:.2}× |",
        f.as_secs_f64() * 1e3,
        1.0 / f.as_secs_f64(),
        f.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "| bare printpdf render of the same page (baseline) | {:.2} ms | {:.0} | 1.00× |",
        b.as_secs_f64() * 1e3,
        1.0 / b.as_secs_f64()
    );
    println!(
        "| of which: sign + fit QR version (no PDF) | {:.2} ms | | |",
        sign.as_secs_f64() * 1e3
    );
    println!(
        "\nPDF size: {} bytes ({:.1} KiB) with the 12 000-byte evidence attachment; bare page {} bytes.\n",
        pdf.len(),
        pdf.len() as f64 / 1024.0,
        bare_pdf.len()
    );

    println!("### QR version by number of organizations (error correction Q)\n");
    println!("| organizations | QR text chars | version, all lines | after grouping (max 20) | lines kept |");
    println!("|---:|---:|---:|---:|---:|");
    for n in 1..=15 {
        let raw = encode_qr_text(&sign_credential(&claims(n), &key));
        let mut c = claims(n);
        let (_, fitted) = sign_fitted_credential(&mut c, &key, None).unwrap();
        println!(
            "| {n} | {} | {} | {} | {} |",
            raw.len(),
            qr_version(&raw).unwrap(),
            qr_version(&fitted).unwrap(),
            c.hours.orgs.len()
        );
    }
}
