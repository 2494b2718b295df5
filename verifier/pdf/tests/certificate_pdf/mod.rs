//! A minimal certificate PDF laid out as the issuer writes it, for the tests of the readers
//! (`verifier/cli/tests/credential_cli.rs`, `verifier/wasm/tests/answers.rs`): the QR text in
//! the info dictionary (`/SagatQR`) and, if given, the evidence as the embedded file
//! `sagat-evidence.cbor` (Flate-compressed, listed in `/Names /EmbeddedFiles`).
#![allow(dead_code)]

use lopdf::{dictionary, Document, Object, Stream, StringFormat};

/// The PDF's bytes.
pub fn certificate_pdf(qr: &str, evidence: Option<&[u8]>) -> Vec<u8> {
    let s = |t: &str| Object::String(t.as_bytes().to_vec(), StringFormat::Literal);
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
        ),
    );
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    if let Some(evidence) = evidence {
        let mut file = Stream::new(dictionary! { "Type" => "EmbeddedFile" }, evidence.to_vec());
        file.compress().unwrap();
        let file_id = doc.add_object(file);
        let spec_id = doc.add_object(dictionary! {
            "Type" => "Filespec", "F" => s("sagat-evidence.cbor"), "UF" => s("sagat-evidence.cbor"),
            "EF" => dictionary! { "F" => file_id },
        });
        catalog.set(
            "Names",
            dictionary! { "EmbeddedFiles" => dictionary! { "Names" => vec![s("sagat-evidence.cbor"), spec_id.into()] } },
        );
    }
    let catalog_id = doc.add_object(catalog);
    let info_id = doc.add_object(dictionary! { "Title" => s("Certificate"), "SagatQR" => s(qr) });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}
