//! Random and mutated inputs never panic the decoder or the verifier, and valid credentials
//! round-trip (bounded case counts: CI runs this in seconds).

mod credential_fixture;

use credential_fixture as fx;
use proptest::prelude::*;
use sagat_verifier::*;

fn trust() -> TrustList {
    fx::trust_list()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let v = verify_credential(&data, Some(&trust()), None, fx::NOW);
        prop_assert!(!v.status.is_valid());
        let _ = decode_evidence(&data);
        let _ = open_status_list(&data, &trust());
        let _ = decode_claims(&data);
    }

    #[test]
    fn random_qr_texts_never_panic(body in "[0-9A-Z $%*+./:-]{0,600}") {
        let text = format!("VH1:{body}");
        let v = verify_credential(text.as_bytes(), Some(&trust()), None, fx::NOW);
        prop_assert!(!v.status.is_valid());
    }

    /// Flipping, inserting or deleting bytes anywhere in a valid credential (before or after
    /// compression) never panics and never yields VALID.
    #[test]
    fn mutated_credentials_are_never_valid(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        op in 0u8..3,
        compressed in any::<bool>(),
    ) {
        let cose = sign_credential(&fx::claims(), &fx::issuer_key());
        // Deleting the leading tag 18 (0xD2) leaves the same message untagged, which COSE
        // allows and Sign1::parse accepts: the same signed credential, not a mutation of it.
        prop_assume!(compressed || op != 2 || pos.index(cose.len()) != 0);
        let mutate = |mut v: Vec<u8>| {
            let i = pos.index(v.len());
            match op {
                0 => { if v[i] == byte { v[i] ^= 0x80 } else { v[i] = byte } }
                1 => v.insert(i, byte),
                _ => { v.remove(i); }
            }
            v
        };
        let input = if compressed {
            let text = encode_qr_text(&cose);
            let raw = base45::decode(&text[4..]).unwrap();
            format!("VH1:{}", base45::encode(mutate(raw))).into_bytes()
        } else {
            encode_qr_text(&mutate(cose.clone())).into_bytes()
        };
        // A zlib stream has more than one form for the same bytes (the header's level bits, the
        // unused bits of a stored block's header; docs/formats.md §1.3 allows any level): such a
        // change carries the very same signed credential, so it is not a mutation of it.
        let text = String::from_utf8(input.clone()).unwrap();
        prop_assume!(decode_qr_text(&text).ok() != Some(cose));
        let v = verify_credential(&input, Some(&trust()), None, fx::NOW);
        prop_assert!(!v.status.is_valid(), "mutation accepted: {:?}", v.status);
    }

    #[test]
    fn claims_round_trip(
        holder in "\\PC{0,40}",
        minutes in proptest::collection::vec(1u64..100_000, 0..12),
        indices in proptest::collection::btree_set(0u64..1_000_000, 0..50),
        exp in proptest::option::of(1_800_000_000i64..2_000_000_000),
    ) {
        let mut c = fx::claims();
        c.hours.holder = holder;
        c.hours.orgs = minutes.iter().enumerate().map(|(i, &m)| OrgLine {
            org_index: 1_000 * i as u64 + (m % 7),
            name: (i % 3 == 0).then(|| format!("Ұйым {i}")),
            category: if i % 2 == 0 { "other".into() } else { "custom kind".into() },
            minutes: m,
            first: "2025-02-03".into(),
            last: "2025-05-06".into(),
        }).collect();
        c.hours.total_minutes = minutes.iter().sum();
        c.hours.attestations = AttestationRefs::compact(indices.into_iter().collect());
        c.expires = exp;
        let text = encode_qr_text(&sign_credential(&c, &fx::issuer_key()));
        let v = verify_credential(text.as_bytes(), Some(&trust()), None, fx::NOW);
        prop_assert_eq!(v.status, VerdictStatus::Valid);
        prop_assert_eq!(v.claims.unwrap(), c);
    }
}
