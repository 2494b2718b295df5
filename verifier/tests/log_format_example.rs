//! The worked example in docs/log-format.md is generated here, and the doc must contain it
//! verbatim, so the document can never drift from the code.

use ed25519_dalek::SigningKey;
use sagat_verifier::{
    decode_signed_event, format_tlog_proof, key_id, leaf_hash, open_checkpoint, parse_tlog_proof,
    public_key_base64, sign_event, sign_note, to_canonical_cbor, Checkpoint, Event, EventBody,
    NoteSigner, VolunteerEnrolled, EVENT_VERSION,
};

/// RFC 8032 §7.1 TEST 1 secret key: public test material, never a real key.
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn example() -> String {
    let key = SigningKey::from_bytes(&hex::decode(SEED_HEX).unwrap().try_into().unwrap());
    let event = Event {
        v: EVENT_VERSION,
        id: "0123456789abcdef0123456789abcdef".into(),
        created: 1_767_225_600,
        body: EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: "fedcba9876543210fedcba9876543210".into(),
            org: None,
        }),
    };
    let payload = to_canonical_cbor(&event);
    let entry = sign_event(&event, &key);
    let decoded = decode_signed_event(&entry).unwrap();
    decoded.verify(&key.verifying_key()).unwrap();
    let leaf = leaf_hash(&entry);

    let origin = "sagat.example/kz-volunteers/v1";
    let signer = NoteSigner::new(origin, key.clone()).unwrap();
    let checkpoint = Checkpoint {
        origin: origin.into(),
        size: 1,
        root_hash: leaf,
        extensions: vec![],
    };
    let note = sign_note(&checkpoint.to_text(), &signer).unwrap();
    assert_eq!(
        open_checkpoint(&note, &signer.verifier()).unwrap(),
        checkpoint
    );
    let proof = format_tlog_proof(0, &[], &note);
    parse_tlog_proof(&proof)
        .unwrap()
        .verify(&leaf, &signer.verifier())
        .unwrap();

    let wrap = |h: String| {
        h.as_bytes()
            .chunks(64)
            .map(|c| format!("    {}\n", std::str::from_utf8(c).unwrap()))
            .collect::<String>()
    };
    let mut out = String::new();
    out.push_str("Operator key: RFC 8032 §7.1 TEST 1 secret key\n");
    out.push_str(&format!("    seed       {SEED_HEX}\n"));
    out.push_str(&format!(
        "    public key {} (base64)\n",
        public_key_base64(&key.verifying_key())
    ));
    out.push_str(&format!(
        "    kid        {}\n",
        hex::encode(key_id(&key.verifying_key()))
    ));
    out.push_str("\nEvent (as JSON, for reading only):\n");
    out.push_str(&format!("    {}\n", serde_json::to_string(&event).unwrap()));
    out.push_str(&format!(
        "\nPayload: deterministic CBOR, {} bytes:\n",
        payload.len()
    ));
    out.push_str(&wrap(hex::encode(&payload)));
    out.push_str(&format!(
        "\nLog entry: tagged COSE_Sign1, {} bytes:\n",
        entry.len()
    ));
    out.push_str(&wrap(hex::encode(&entry)));
    out.push_str(&format!(
        "\nLeaf hash SHA-256(0x00 || entry):\n    {}\n",
        hex::encode(leaf)
    ));
    out.push_str(&format!(
        "\nNote verifier key of the log:\n    {}\n",
        signer.verifier().to_vkey_string()
    ));
    out.push_str("\nCheckpoint of the one-entry log (root = the leaf hash):\n\n");
    out.push_str(
        &note
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>(),
    );
    out.push_str("\ntlog-proof of entry 0 (empty audit path):\n\n");
    out.push_str(
        &proof
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>(),
    );
    out
}

/// The fenced block of section 7 ("Worked example"): the text between the first ```` ``` ````
/// line after the heading and the next one, and what follows the block.
fn worked_example_block(doc: &str) -> Option<(&str, &str)> {
    let section = &doc[doc.find("## 7. Worked example")?..];
    let start = section.find("\n```\n")? + 5;
    let body = &section[start..];
    let end = body.find("\n```")? + 1;
    Some((&body[..end], &body[end + 3..]))
}

/// The doc's worked example must be exactly the generated one: the whole fenced block, nothing
/// added (a pasted panic message or backtrace fails), nothing after it. The test never writes
/// into docs/: on failure it prints the block to paste between marker lines.
#[test]
fn docs_log_format_contains_the_generated_worked_example() {
    let example = example();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/log-format.md");
    let doc = std::fs::read_to_string(path).expect("docs/log-format.md exists");
    let Some((block, rest)) = worked_example_block(&doc) else {
        panic!("docs/log-format.md has no fenced block under \"## 7. Worked example\"");
    };
    assert!(
        block == example,
        "the fenced block of docs/log-format.md section 7 is not the current worked example; \
         replace its content with the lines between the markers (not this message):\n\
         ----- BEGIN WORKED EXAMPLE -----\n{example}----- END WORKED EXAMPLE -----"
    );
    assert!(
        rest.trim().is_empty(),
        "docs/log-format.md has text after the worked example: {:?}",
        &rest[..rest.len().min(200)]
    );
}

/// The check above refuses the doc as it was with a panic backtrace pasted into the block.
#[test]
fn a_pasted_backtrace_in_the_worked_example_is_refused() {
    let example = example();
    let doc = format!(
        "## 7. Worked example\n\ntext\n\n```\n{example}\nstack backtrace:\n   0: rust_begin_unwind\n```\n"
    );
    let (block, _) = worked_example_block(&doc).unwrap();
    assert_ne!(block, example);
    let clean = format!("## 7. Worked example\n\ntext\n\n```\n{example}```\n");
    assert_eq!(
        worked_example_block(&clean).unwrap(),
        (example.as_str(), "\n")
    );
}
