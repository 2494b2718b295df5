//! The certificate as a reader sees it, without a ledger: rasterized and scanned, text extracted,
//! fonts inspected, attachment and info key read back.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use sagat_issuer::{
    qr_png, qr_svg, qr_version, render_certificate, render_certificate_bare,
    sign_fitted_credential, Certificate, CertificateRow, Lang, EVIDENCE_FILE_NAME, MAX_QR_VERSION,
    PDF_QR_INFO_KEY,
};
use sagat_verifier::{
    decode_qr_text, parse_credential, AttestationRefs, Category, CredentialClaims, HoursClaim,
    OrgLine,
};

const HOLDER: &str = "Әлия Сәрсенбаева";
const KAZAKH_LETTERS: [char; 9] = ['ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і'];

/// Organization names of realistic length, in Kazakh (every special letter appears).
fn org_name(n: usize) -> String {
    let base = [
        "Астана жастар орталығы",
        "«Мейірім» қайырымдылық қоры",
        "Алматы экологиялық қоғамы",
        "Қызыл Жарты Ай, Шымкент",
        "Өңірлік еріктілер үйі",
        "Ұлттық кітапхана",
        "Үміт балалар үйі",
        "Шаһар медиа орталығы",
        "Іле Алатауы саябағы",
        "Қарағанды қалалық ауруханасы",
    ];
    if n < base.len() {
        base[n].to_string()
    } else {
        format!("{} №{}", base[n % base.len()], n)
    }
}

fn claims_with_orgs(orgs: usize) -> CredentialClaims {
    CredentialClaims {
        issuer: "kz-volunteer-front-office".into(),
        issued_at: 1_795_305_600,
        not_before: 1_795_305_600,
        expires: None,
        id: [0x3f; 16],
        hours: HoursClaim {
            holder: HOLDER.into(),
            total_minutes: (0..orgs as u64).map(|i| 600 - i * 10).sum(),
            orgs: (0..orgs)
                .map(|i| OrgLine {
                    org_index: 3 + 41 * i as u64,
                    name: Some(org_name(i)),
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
            // Four attestations per organization, far apart in the log.
            attestations: AttestationRefs::compact(
                (0..orgs as u64 * 4).map(|i| 1000 + i * 517).collect(),
            ),
            status_index: 1234,
        },
    }
}

fn certificate(rows: usize, lang: Lang, lang2: Option<Lang>) -> (Certificate, SigningKey) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut claims = claims_with_orgs(10);
    let (_, qr_text) = sign_fitted_credential(&mut claims, &key, None).unwrap();
    let cats = [
        Category::Social,
        Category::Ecological,
        Category::Education,
        Category::EmergencyRelief,
        Category::Medical,
    ];
    let rows: Vec<CertificateRow> = (0..rows)
        .map(|i| CertificateRow {
            date: format!("2026-{:02}-{:02}", 1 + (i / 28) % 10, 1 + i % 28),
            organization: org_name(i % 10),
            activity: (i % 4 != 3)
                .then(|| format!("Іс-шара {i}: қарттарға көмек және саябақты тазалау")),
            category: Some(cats[i % cats.len()]),
            minutes: 60 + (i as u64 * 37) % 300,
            corrected: i == 1,
        })
        .collect();
    let cert = Certificate {
        lang,
        lang2,
        holder: HOLDER.into(),
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
        evidence: (0..5000u32).map(|i| (i * 7 % 251) as u8).collect(),
    };
    (cert, key)
}

/// With the operator's verify address the printed QR code carries the URL form
/// `<verify URL>#VH1:…` (docs/formats.md §1.4), which a phone camera opens; every verifier reads
/// the same signed credential from it; and the page says where to go, in each of its languages.
#[test]
fn a_verify_url_puts_the_url_form_in_the_qr_code_and_on_the_page() {
    const URL: &str = "https://verify.example.kz/v";
    let dir = tempfile::tempdir().unwrap();
    let (mut cert, key) = certificate(10, Lang::Ru, Some(Lang::Kk));
    let mut claims = claims_with_orgs(10);
    let (cose, qr_text) = sign_fitted_credential(&mut claims, &key, Some(URL)).unwrap();
    let code = sagat_verifier::qr_code_text(&qr_text, Some(URL));
    assert!(code.starts_with(&format!("{URL}#VH1:")), "{code}");
    assert!(qr_version(&code).unwrap() <= MAX_QR_VERSION);
    cert.qr_text = qr_text;
    cert.verify_url = Some(URL.into());
    let path = write_pdf(dir.path(), "ru-kk.pdf", &render_certificate(&cert).unwrap());
    let png = rasterize_page(&path, 1);
    assert_eq!(scan_qr(&png), vec![code.clone()]);
    assert_eq!(decode_qr_text(&code).unwrap(), cose);
    let text = pdf_text(&path);
    assert!(text.contains(URL), "{text}");
    assert!(
        text.contains("наведите камеру телефона на QR-код"),
        "{text}"
    );
    assert!(text.contains("телефон камерасын QR-кодқа"), "{text}");
}

#[test]
fn kazakh_certificate_scans_extracts_and_embeds_a_subset_font() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(10, Lang::Kk, None);
    let pdf = render_certificate(&cert).unwrap();
    let path = write_pdf(dir.path(), "kk.pdf", &pdf);

    // The printed QR code, scanned from a 150 dpi raster, is exactly the credential text, and the
    // credential inside verifies with the issuer key.
    let png = rasterize_page(&path, 1);
    assert_eq!(scan_qr(&png), vec![cert.qr_text.clone()]);
    let cose = decode_qr_text(&cert.qr_text).unwrap();
    let credential = parse_credential(&cose).unwrap();
    credential
        .sign1
        .verify(&key.verifying_key())
        .expect("signature verifies with the issuer key");
    assert_eq!(credential.claims.hours.holder, HOLDER);

    // Text extracts through ToUnicode: the holder's name and every Kazakh letter.
    let text = pdf_text(&path);
    assert!(text.contains(HOLDER), "holder name not extracted:\n{text}");
    for c in KAZAKH_LETTERS {
        assert!(text.contains(c), "Kazakh letter {c} not extracted");
    }
    assert!(text.contains(
        "Волонтерлік қызмет туралы сертификат"
            .to_uppercase()
            .as_str()
    ));
    assert!(text.contains("3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f"));
    assert!(
        text.contains("Тексеру: QR-кодты"),
        "how-to-verify line missing"
    );

    // Every font is embedded and subset (ABCDEF+ prefix), with a Unicode map.
    let fonts = fonts(&path);
    assert!(!fonts.is_empty());
    for (name, _type, emb, sub, uni) in &fonts {
        assert_eq!(emb, "yes", "font {name} not embedded");
        assert_eq!(sub, "yes", "font {name} not subset");
        assert_eq!(uni, "yes", "font {name} has no ToUnicode map");
        let (prefix, rest) = name.split_once('+').expect("subset prefix");
        assert!(
            prefix.len() == 6 && prefix.chars().all(|c| c.is_ascii_uppercase()),
            "{name}"
        );
        assert!(rest.contains("DejaVu"), "{name}");
    }

    // The evidence is attached under its name and listed as an associated file; the QR text is
    // in the info dictionary.
    let (evidence, in_af) = attachment(&pdf, EVIDENCE_FILE_NAME);
    assert_eq!(evidence, cert.evidence);
    assert!(in_af, "/AF does not list the evidence");
    assert_eq!(
        info_string(&pdf, PDF_QR_INFO_KEY).as_deref(),
        Some(cert.qr_text.as_str())
    );
    let title = info_string(&pdf, "Title").unwrap();
    assert!(title.contains(HOLDER), "{title}");
    let created = info_string(&pdf, "CreationDate").unwrap();
    assert!(created.starts_with("D:20261122"), "{created}");

    assert_eq!(page_count(&path), 1);
    assert!(pdf.len() < 100 * 1024, "PDF is {} bytes", pdf.len());
}

/// The page content streams are written by our own writer (`pdf/content.rs`), not by printpdf;
/// printpdf's own save of the very same page ops is the reference it must look like.
#[test]
fn page_content_looks_like_printpdfs_own_rendering_of_the_same_ops() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(60, Lang::Kk, Some(Lang::En));
    let ours = write_pdf(dir.path(), "ours.pdf", &render_certificate(&cert).unwrap());
    let printpdf = write_pdf(
        dir.path(),
        "printpdf.pdf",
        &render_certificate_bare(&cert).unwrap(),
    );
    let pages = page_count(&printpdf);
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(page_count(&ours), pages);
    assert_eq!(pdf_text(&ours), pdf_text(&printpdf));
    for page in 1..=pages {
        let a = image::open(rasterize_page(&ours, page)).unwrap().to_luma8();
        let b = image::open(rasterize_page(&printpdf, page))
            .unwrap()
            .to_luma8();
        assert_eq!(a.dimensions(), b.dimensions());
        // Numbers are rounded differently (1/10 000 pt here, shortest f32 there), which can move
        // an anti-aliased edge across a pixel boundary; anything drawn elsewhere, in another colour
        // or not at all changes far more than 1 % of the page.
        let differing = a
            .pixels()
            .zip(b.pixels())
            .filter(|(p, q)| p.0[0].abs_diff(q.0[0]) > 32)
            .count();
        let total = (a.width() * a.height()) as usize;
        assert!(
            differing * 100 < total,
            "page {page}: {differing} of {total} pixels differ"
        );
    }
}

#[test]
fn a_long_table_flows_onto_further_pages_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(90, Lang::Ru, Some(Lang::En));
    let pdf = render_certificate(&cert).unwrap();
    let path = write_pdf(dir.path(), "long.pdf", &pdf);
    let pages = page_count(&path);
    assert!(pages >= 3, "90 rows on {pages} pages");
    let text = pdf_text(&path);
    for i in 0..90 {
        let activity = format!("Іс-шара {i}:");
        if i % 4 != 3 {
            assert!(text.contains(&activity), "row {i} missing");
        }
    }
    assert!(
        text.contains("(продолжение)"),
        "continuation heading missing"
    );
    assert!(text.contains(&format!("Страница {pages} из {pages}")));
    // Bilingual labels.
    assert!(text.contains("Certificate of Volunteer Service"));
    assert!(text.contains("Итого"));
    // The QR code is on page 1 and still scans.
    let png = rasterize_page(&path, 1);
    assert_eq!(scan_qr(&png), vec![cert.qr_text.clone()]);
}

#[test]
fn every_language_renders_its_own_labels() {
    let dir = tempfile::tempdir().unwrap();
    for (lang, title) in [
        (Lang::Kk, "ВОЛОНТЕРЛІК ҚЫЗМЕТ ТУРАЛЫ СЕРТИФИКАТ"),
        (Lang::Ru, "СЕРТИФИКАТ О ВОЛОНТЁРСКОЙ ДЕЯТЕЛЬНОСТИ"),
        (Lang::En, "CERTIFICATE OF VOLUNTEER SERVICE"),
    ] {
        let (cert, _) = certificate(3, lang, None);
        let pdf = render_certificate(&cert).unwrap();
        let path = write_pdf(dir.path(), &format!("{lang}.pdf"), &pdf);
        let text = pdf_text(&path);
        assert!(text.contains(title), "{lang}: title missing:\n{text}");
        assert!(text.contains(HOLDER));
    }
}

#[test]
fn organizations_beyond_the_qr_budget_are_grouped_minimally_keeping_the_total() {
    let key = SigningKey::from_bytes(&[7; 32]);
    for orgs in [3, 10, 15] {
        let mut claims = claims_with_orgs(orgs);
        let total = claims.hours.total_minutes;
        let (cose, text) = sign_fitted_credential(&mut claims, &key, None).unwrap();
        let version = qr_version(&text).unwrap();
        assert!(
            version <= MAX_QR_VERSION,
            "{orgs} organizations: version {version}"
        );
        let grouped = claims.hours.more.map_or(0, |m| m.organizations as usize);
        assert_eq!(claims.hours.orgs.len() + grouped, orgs);
        let listed: u64 = claims.hours.orgs.iter().map(|o| o.minutes).sum();
        assert_eq!(listed + claims.hours.more.map_or(0, |m| m.minutes), total);
        // What was signed is what the claims now say.
        assert_eq!(parse_credential(&cose).unwrap().claims, claims);
        // Grouping is minimal: keeping one more line would not fit.
        if grouped > 0 {
            let mut one_more = claims_with_orgs(orgs);
            let kept = claims.hours.orgs.len() + 1;
            let rest = one_more.hours.orgs.split_off(kept);
            // Lines are grouped only once the names are gone.
            assert!(claims.hours.orgs.iter().all(|o| o.name.is_none()));
            for line in &mut one_more.hours.orgs {
                line.name = None;
            }
            one_more.hours.more = (!rest.is_empty()).then(|| sagat_verifier::MoreOrgs {
                organizations: rest.len() as u32,
                minutes: rest.iter().map(|o| o.minutes).sum(),
            });
            let cose = sagat_verifier::sign_credential(&one_more, &key);
            let v = qr_version(&sagat_verifier::encode_qr_text(&cose)).unwrap();
            assert!(
                v > MAX_QR_VERSION,
                "{orgs}: one more line would still fit (version {v})"
            );
        }
    }
    // Names go first, smallest line first: lines that all fit without names are all kept, and
    // the names that are left belong to the largest lines.
    let mut fifteen = claims_with_orgs(15);
    sign_fitted_credential(&mut fifteen, &key, None).unwrap();
    assert_eq!(fifteen.hours.more, None);
    assert_eq!(fifteen.hours.orgs.len(), 15);
    let named = fifteen
        .hours
        .orgs
        .iter()
        .take_while(|o| o.name.is_some())
        .count();
    assert!(named < 15);
    assert!(fifteen.hours.orgs[named..].iter().all(|o| o.name.is_none()));
}

#[test]
fn png_and_svg_renderings_scan_back_to_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(1, Lang::En, None);
    let png = qr_png(&cert.qr_text, 4).unwrap();
    let path = dir.path().join("qr.png");
    std::fs::write(&path, png).unwrap();
    assert_eq!(scan_qr(&path), vec![cert.qr_text.clone()]);
    let svg = qr_svg(&cert.qr_text).unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains("shape-rendering=\"crispEdges\""));
}
