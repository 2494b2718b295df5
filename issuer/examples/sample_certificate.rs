//! Renders a sample certificate without a ledger: `cargo run -p sagat-issuer --example
//! sample_certificate -- OUT.pdf [kk|ru|en] [lang2] [rows]`.

use sagat_issuer::{render_certificate, Certificate, CertificateRow, Lang};
use sagat_verifier::Category;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().map(String::as_str).unwrap_or("sample.pdf");
    let lang = Lang::parse(args.get(1).map(String::as_str).unwrap_or("kk"))?;
    let lang2 = match args.get(2).map(String::as_str) {
        None | Some("-") => None,
        Some(code) => Some(Lang::parse(code)?),
    };
    let n: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let orgs = [
        "Астана жастар орталығы",
        "«Мейірім» қайырымдылық қоры",
        "Алматы қаласының экологиялық қоғамы",
        "Қазақстан Қызыл Жарты Ай қоғамы",
        "Zhasyl El volunteers",
    ];
    let activities = [
        "Қарттар үйіне көмек",
        "Іле Алатауы ұлттық саябағын тазалау",
        "Балаларға арналған математика үйірмесі",
        "Тасқыннан зардап шеккендерге гуманитарлық көмек тарату",
        "Астана марафоны: су беру пункті",
    ];
    let cats = [
        Category::Social,
        Category::Ecological,
        Category::Education,
        Category::EmergencyRelief,
        Category::Events,
    ];
    let rows: Vec<CertificateRow> = (0..n)
        .map(|i| CertificateRow {
            date: format!("2026-{:02}-{:02}", 1 + (i / 28) % 12, 1 + i % 28),
            organization: orgs[i % orgs.len()].into(),
            activity: (i % 7 != 3).then(|| activities[i % activities.len()].into()),
            category: Some(cats[i % cats.len()]),
            minutes: 60 + (i as u64 * 37) % 300,
            corrected: i == 2,
        })
        .collect();
    let cert = Certificate {
        lang,
        lang2,
        holder: "Әлия Сәрсенбаева".into(),
        total_minutes: rows.iter().map(|r| r.minutes).sum(),
        period_from: rows.first().map(|r| r.date.clone()).unwrap_or_default(),
        period_to: rows.last().map(|r| r.date.clone()).unwrap_or_default(),
        rows,
        credential_id: "3f9a1c0de4b2478a9c61d0e5f7a8b912".into(),
        issued_at: 1_795_305_600,
        issuer_name: "Volunteer Front Office of Kazakhstan".into(),
        issuer_kid: "a1b2c3d4e5f60718".into(),
        checkpoint_size: 48_213,
        checkpoint_root: [0x5a; 32],
        qr_text: format!("VH1:{}", "6BFOXN*TS0BI$ZD-PHQ7I9AD66%".repeat(40)),
        verify_url: Some("https://verify.example.kz/v".into()),
        evidence: vec![0xa1; 4000],
    };
    let pdf = render_certificate(&cert)?;
    std::fs::write(out, &pdf)?;
    println!("{out}: {} bytes", pdf.len());
    Ok(())
}
