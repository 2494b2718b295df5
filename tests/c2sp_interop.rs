//! The log's read API checked by an independent C2SP implementation: Cloudflare's `signed_note`
//! (c2sp.org/signed-note) and `tlog_tiles` (c2sp.org/tlog-tiles, c2sp.org/tlog-checkpoint; a
//! port of Go's `golang.org/x/mod/sumdb/tlog`), used here exactly as a third-party auditor
//! would: the checkpoint's signature with the operator's published verifier key, the tree
//! rebuilt from the served tiles, entry bundles against the level-0 hashes, and our RFC 6962
//! inclusion and consistency proofs against theirs.
//!
//! `tlog_tiles` names tiles in Go's sumdb form, `tile/<H>/<L>/<N>` with `data` for record
//! tiles; C2SP tlog-tiles drops the height (always 8) and calls record tiles `entries`, so
//! [`c2sp_path`] converts one into the other.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use sagat::datadir;
use sagat::http;
use serde_json::{json, Value};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{
    check_record, check_tree, prove_record, prove_tree, record_hash, tree_hash, Checkpoint, Hash,
    Tile, TileHashReader, TileReader,
};
use tower::ServiceExt as _;

/// Tile height of C2SP tlog-tiles: 2^8 = 256 hashes per full tile.
const HEIGHT: u8 = 8;

struct Server {
    _dir: tempfile::TempDir,
    state: http::AppState,
    operator_token: String,
    runtime: tokio::runtime::Runtime,
}

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Server {
    fn new() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let app = datadir::init(
            &dir.path().join("data"),
            datadir::Config::default(),
            datadir::now(),
        )
        .unwrap();
        let state = http::AppState::new(
            app,
            &http::ServeOptions {
                rate_limit_per_minute: 0,
                ..http::ServeOptions::default()
            },
        )
        .unwrap();
        let operator_token = state.ensure_operator_token().unwrap().unwrap();
        Server {
            _dir: dir,
            state,
            operator_token,
            runtime: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn request(&self, req: Request<Body>) -> Answer {
        self.runtime.block_on(async {
            let resp = http::router(self.state.clone()).oneshot(req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec();
            Answer { status, body }
        })
    }

    fn get(&self, uri: &str) -> Answer {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
    }

    fn post(&self, uri: &str, token: &str, content_type: &str, body: Vec<u8>) -> Value {
        let a = self.request(
            Request::post(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        );
        assert!(
            a.status.is_success(),
            "{uri}: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        serde_json::from_slice(&a.body).unwrap()
    }

    /// An organization with one volunteer and `rows` attestations, added as one CSV upload.
    fn grow(&self, rows: usize) {
        let op = self.operator_token.clone();
        let json_type = "application/json";
        self.post(
            "/api/v1/orgs",
            &op,
            json_type,
            serde_json::to_vec(&json!({"id": "audit-org", "name_en": "Audit Org"})).unwrap(),
        );
        let token = self.post(
            "/api/v1/orgs/audit-org/tokens",
            &op,
            json_type,
            b"{}".to_vec(),
        )["token"]
            .as_str()
            .unwrap()
            .to_string();
        let mut csv = String::from("volunteer,date,hours\n");
        for v in 0..rows.div_ceil(20) {
            let enrolled = self.post(
                "/api/v1/orgs/audit-org/volunteers",
                &token,
                json_type,
                serde_json::to_vec(&json!({"name": format!("Volunteer {v}")})).unwrap(),
            );
            let id = enrolled["volunteer"].as_str().unwrap().to_string();
            // 20 days of one hour each: well inside the daily limit.
            for d in 0..20.min(rows - v * 20) {
                csv.push_str(&format!("{id},2026-01-{:02},1\n", d + 1));
            }
        }
        self.post(
            "/api/v1/orgs/audit-org/attestations/csv",
            &token,
            "text/csv",
            csv.into_bytes(),
        );
    }
}

/// A Go-sumdb tile path from `tlog_tiles` (`tile/8/<L>/<N>`, `tile/8/data/<N>`) as the C2SP
/// URL under `/log/` (`tile/<L>/<N>`, `tile/entries/<N>`).
fn c2sp_path(tile: &Tile) -> String {
    let sumdb = tile.path();
    let rest = sumdb
        .strip_prefix(&format!("tile/{HEIGHT}/"))
        .unwrap_or_else(|| panic!("height {HEIGHT} expected: {sumdb}"));
    let rest = rest
        .strip_prefix("data/")
        .map(|n| format!("entries/{n}"))
        .unwrap_or_else(|| rest.to_string());
    format!("/log/tile/{rest}")
}

/// Tiles fetched from the server, as `tlog_tiles` asks for them (it authenticates them against
/// the checkpoint's root before it trusts any hash).
struct HttpTiles<'a> {
    server: &'a Server,
}

impl TileReader for HttpTiles<'_> {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let a = self.server.get(&c2sp_path(t));
                assert_eq!(a.status, StatusCode::OK, "{}", c2sp_path(t));
                Ok(a.body)
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

fn hashes_of(proof: &Value) -> Vec<Hash> {
    proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap();
            Hash(raw.try_into().unwrap())
        })
        .collect()
}

fn json_of(a: Answer) -> Value {
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    serde_json::from_slice(&a.body).unwrap()
}

#[test]
fn an_independent_c2sp_client_audits_the_served_log() {
    let server = Server::new();
    // 600 attestations and their setup: two full level-0 tiles, a partial one, a partial level 1.
    server.grow(600);

    // The checkpoint: a signed note under the operator's published verifier key.
    let vkey = server.state.app.operator_vkey();
    let verifier = StandardVerifier::new(&vkey).expect("the operator key is a standard vkey");
    let note_bytes = server.get("/log/checkpoint").body;
    let note = Note::from_bytes(&note_bytes).expect("a signed note");
    let (verified, unverified) = note
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .expect("signed by the operator");
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    let checkpoint = Checkpoint::from_bytes(note.text()).expect("a C2SP tlog-checkpoint");
    assert_eq!(checkpoint.origin(), server.state.app.config.origin);
    let size = checkpoint.size();
    assert!(size > 600, "{size}");
    let root = *checkpoint.hash();

    // The tree rebuilt from the served tiles has the checkpoint's root.
    let tiles = HttpTiles { server: &server };
    let reader = TileHashReader::new(size, root, &tiles);
    assert_eq!(tree_hash(size, &reader).unwrap(), root);

    // Entry bundles (C2SP tlog-tiles §entry bundles): each entry's record hash is its leaf in
    // the authenticated level-0 tiles, and it is in the tree by the library's own proof.
    let mut index = 0u64;
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256) as u32;
        let bundle = Tile::new(HEIGHT, 0, n, width, true);
        let hashes = Tile::new(HEIGHT, 0, n, width, false);
        let body = server.get(&c2sp_path(&bundle)).body;
        let leaves = tiles.read_tiles(&[hashes]).unwrap().remove(0);
        let mut rest = &body[..];
        for i in 0..width as usize {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let entry = &rest[2..2 + len];
            let leaf = record_hash(entry);
            assert_eq!(leaf.0[..], leaves[i * 32..(i + 1) * 32], "entry {index}");
            if index.is_multiple_of(97) || index == size - 1 {
                let proof = prove_record(size, index, &reader).unwrap();
                check_record(&proof, size, root, index, leaf).unwrap();
                // Our inclusion proof is the same audit path, and passes their check.
                let ours = json_of(
                    server.get(&format!("/api/v1/log/inclusion?index={index}&size={size}")),
                );
                assert_eq!(hashes_of(&ours), proof, "entry {index}");
                check_record(&hashes_of(&ours), size, root, index, leaf).unwrap();
            }
            rest = &rest[2 + len..];
            index += 1;
        }
        assert!(rest.is_empty(), "bundle {n} has trailing bytes");
    }
    assert_eq!(index, size);

    // Consistency proofs: ours equal theirs, and pass their check against the older root.
    for old in [1, 7, 256, 300, 512, size - 1] {
        let old_root = tree_hash(old, &reader).unwrap();
        let theirs = prove_tree(size, old, &reader).unwrap();
        let ours = json_of(server.get(&format!("/api/v1/log/consistency?from={old}&to={size}")));
        assert_eq!(hashes_of(&ours), theirs, "from {old}");
        check_tree(&hashes_of(&ours), size, root, old, old_root).unwrap();
    }

    // A tile name the library refuses as non-canonical is a 404 on the server too.
    for (sumdb, c2sp) in [
        ("tile/8/0/x000/000", "/log/tile/0/x000/000"),
        ("tile/8/data/x000/001", "/log/tile/entries/x000/001"),
        ("tile/8/0/000.p/0256", "/log/tile/0/000.p/0256"),
    ] {
        assert!(Tile::from_path(sumdb).is_err(), "{sumdb}");
        assert_eq!(server.get(c2sp).status, StatusCode::NOT_FOUND, "{c2sp}");
    }
}
