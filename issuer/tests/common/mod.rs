//! Helpers for the issuer's integration tests: the Debian tools that look at a PDF the way a
//! person (or a phone) does, and reading the PDF's attachment and info dictionary with lopdf.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `name` on PATH, or a failure saying which Debian package to install. Never a skip: a test
/// that silently passed without its tool would prove nothing.
pub fn tool(name: &str) -> PathBuf {
    let package = match name {
        "zbarimg" => "zbar-tools",
        _ => "poppler-utils",
    };
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{name} not found: install poppler-utils / zbar-tools (scripts/test does this; \
             this test needs {package})"
        )
    })
}

/// Runs `program args`, failing the test with its stderr if it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(tool(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{program} printed non-UTF-8: {e}"))
}

/// Writes `pdf` into `dir` and returns its path.
pub fn write_pdf(dir: &Path, name: &str, pdf: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

/// Rasterizes page `page` (1-based) at 150 dpi, as a person printing it would see it.
pub fn rasterize_page(pdf: &Path, page: u32) -> PathBuf {
    let prefix = pdf.with_extension(format!("p{page}"));
    let p = page.to_string();
    run(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-singlefile",
            "-f",
            &p,
            "-l",
            &p,
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    prefix.with_extension(format!("p{page}.png"))
}

/// The QR codes zbarimg finds in `png`, one text per code.
pub fn scan_qr(png: &Path) -> Vec<String> {
    let out = run("zbarimg", &["--raw", "-q", png.to_str().unwrap()]);
    out.lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The PDF's text as pdftotext extracts it (through the fonts' ToUnicode maps), in content
/// order (`-raw`, so a wrapped table cell stays together), whitespace runs squashed to one space.
pub fn pdf_text(pdf: &Path) -> String {
    let raw = run(
        "pdftotext",
        &["-raw", "-enc", "UTF-8", pdf.to_str().unwrap(), "-"],
    );
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// pdfinfo's page count.
pub fn page_count(pdf: &Path) -> u32 {
    let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("pdfinfo prints Pages:")
}

/// Rows of `pdffonts`: (name, type, emb, sub, uni).
pub fn fonts(pdf: &Path) -> Vec<(String, String, String, String, String)> {
    let out = run("pdffonts", &[pdf.to_str().unwrap()]);
    out.lines()
        .skip(2)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = cols.len();
            assert!(n >= 7, "unexpected pdffonts line {l:?}");
            (
                cols[0].to_string(),
                cols[1..n - 6].join(" "),
                cols[n - 5].to_string(),
                cols[n - 4].to_string(),
                cols[n - 3].to_string(),
            )
        })
        .collect()
}

/// The attachment named `name`, found through the catalog's `/Names /EmbeddedFiles` tree, as a
/// reader would; and whether the catalog's `/AF` lists the same file specification.
pub fn attachment(pdf: &[u8], name: &str) -> (Vec<u8>, bool) {
    use lopdf::Object;
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf parses the PDF");
    let catalog = doc.catalog().expect("catalog");
    let names = catalog
        .get(b"Names")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        .and_then(Object::as_dict)
        .expect("/Names in the catalog");
    let tree = names
        .get(b"EmbeddedFiles")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        .and_then(Object::as_dict)
        .expect("/EmbeddedFiles name tree");
    let pairs = tree
        .get(b"Names")
        .and_then(Object::as_array)
        .expect("/Names array");
    let mut spec_ref = None;
    for pair in pairs.chunks(2) {
        if pair[0].as_str().ok() == Some(name.as_bytes()) {
            spec_ref = Some(pair[1].as_reference().expect("file spec reference"));
        }
    }
    let spec_ref = spec_ref.unwrap_or_else(|| panic!("no attachment named {name}"));
    let spec = doc.get_dictionary(spec_ref).expect("file spec");
    let ef = spec.get(b"EF").and_then(Object::as_dict).expect("/EF");
    let stream_ref = ef.get(b"F").and_then(Object::as_reference).expect("/EF /F");
    let stream = doc
        .get_object(stream_ref)
        .and_then(Object::as_stream)
        .expect("embedded file stream");
    let content = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    let af_lists_it = catalog
        .get(b"AF")
        .and_then(Object::as_array)
        .map(|a| a.iter().any(|o| o.as_reference().ok() == Some(spec_ref)))
        .unwrap_or(false);
    (content, af_lists_it)
}

/// A text entry of the document information dictionary.
pub fn info_string(pdf: &[u8], key: &str) -> Option<String> {
    use lopdf::Object;
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf parses the PDF");
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        .and_then(Object::as_dict)
        .ok()?;
    let raw = info.get(key.as_bytes()).and_then(Object::as_str).ok()?;
    Some(decode_pdf_text_string(raw))
}

/// PDF text strings are PDFDocEncoding or UTF-16BE with a BOM (ISO 32000-1 §7.9.2.2).
fn decode_pdf_text_string(raw: &[u8]) -> String {
    if let Some(body) = raw.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = body
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        raw.iter().map(|&b| b as char).collect()
    }
}
