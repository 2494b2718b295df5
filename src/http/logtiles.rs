//! The C2SP tlog-tiles read API under `/log/` (<https://c2sp.org/tlog-tiles>):
//! - `GET /log/checkpoint` — the latest signed checkpoint (C2SP tlog-checkpoint, signed note);
//! - `GET /log/tile/<L>/<N>[.p/<W>]` — Merkle tree tiles: the 32-byte hashes of level `L`
//!   (0..=63) tile `N`, 256 wide when full, `W` (1..=255) when partial;
//! - `GET /log/tile/entries/<N>[.p/<W>]` — entry bundles: each entry as a 2-byte big-endian
//!   length followed by its stored bytes (the signed COSE event exactly as logged).
//!
//! `N` is written as 3-digit path elements, all but the last prefixed with `x`
//! (index 1234067 → `x001/x234/067`), as the spec requires, and only in that shortest form:
//! `x000/000` (a leading zero element) is a 404 like any other non-canonical name, so that
//! caches never hold two names for one tile. Tiles never change, partial ones included (a
//! partial tile of width `W` always holds the same `W` hashes; a wider one has another name),
//! so every tile is served with `Cache-Control: public, max-age=31536000, immutable`; the
//! checkpoint is `no-cache`. Entry bundles are sent gzip-compressed (`Content-Encoding: gzip`)
//! when the request's `Accept-Encoding` allows gzip, as the spec recommends.

use axum::extract::{Path, State};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::headers::{accepts_gzip, gzip};
use super::AppState;
use crate::ops;

/// Tile width when full.
pub const TILE_WIDTH: u64 = 256;

/// A parsed tile request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRef {
    /// Level; `None` for an entry bundle.
    pub level: Option<u8>,
    /// Tile index within the level.
    pub index: u64,
    /// Width: 256 for a full tile, 1..=255 for a partial one.
    pub width: u16,
}

/// Parses the tile index path elements (`x001/x234/067`).
pub fn parse_index(elems: &[&str]) -> Option<u64> {
    if elems.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for (i, e) in elems.iter().enumerate() {
        let last = i == elems.len() - 1;
        let digits = if last { *e } else { e.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// Encodes a tile index as path elements (inverse of [`parse_index`]).
pub fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// Parses everything after `/log/tile/`.
pub fn parse_tile_path(rest: &str) -> Option<TileRef> {
    let mut elems: Vec<&str> = rest.split('/').collect();
    let level = match elems.first()? {
        &"entries" => None,
        l => {
            // Decimal, no leading zeroes, 0..=63.
            if l.is_empty() || (l.len() > 1 && l.starts_with('0')) || l.len() > 2 {
                return None;
            }
            let v: u8 = l.parse().ok()?;
            if v > 63 {
                return None;
            }
            Some(v)
        }
    };
    elems.remove(0);
    let mut width = TILE_WIDTH as u16;
    // A partial tile: the last index element ends in `.p` and is followed by `<W>`.
    if elems.len() >= 2 && elems[elems.len() - 2].ends_with(".p") {
        let w = elems.pop()?;
        if w.is_empty()
            || w.starts_with('0')
            || w.len() > 3
            || !w.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let w: u16 = w.parse().ok()?;
        if !(1..=255).contains(&w) {
            return None;
        }
        let last = elems.pop()?;
        elems.push(last.strip_suffix(".p")?);
        width = w;
    }
    let index = parse_index(&elems)?;
    // One name per tile: the shortest encoding only (no leading `x000` elements).
    if encode_index(index) != elems.join("/") {
        return None;
    }
    Some(TileRef {
        level,
        index,
        width,
    })
}

/// Routes of the read API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*rest}", get(tile))
}

async fn checkpoint(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.app.ledger.checkpoint_note(),
    )
        .into_response()
}

async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ops::Error> {
    let Some(t) = parse_tile_path(&rest) else {
        return Err(ops::Error::not_found(
            "path",
            format!("{rest:?} is not a C2SP tlog-tiles path (tile/<L>/<N>[.p/<W>] with N as x-prefixed 3-digit elements)"),
        ));
    };
    let size = state.app.ledger.size();
    // Entries covered by the requested tile: (index*256 + width) * 256^level.
    let level = t.level.unwrap_or(0) as u32;
    let needed = (t.index as u128 * TILE_WIDTH as u128 + t.width as u128)
        .saturating_mul(256u128.checked_pow(level).unwrap_or(u128::MAX));
    if needed > size as u128 {
        return Err(ops::Error::not_found(
            "path",
            format!("the log has {size} entries; that tile does not exist (yet)"),
        ));
    }
    let bytes = match t.level {
        Some(l) => ops::tile(&state.app, l, t.index, t.width)?,
        None => ops::entries_bundle(&state.app, t.index, t.width)?,
    };
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
    )
        .into_response();
    if t.level.is_none() {
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if accepts_gzip(&headers) {
            let zipped = gzip(&bytes, flate2::Compression::default())
                .map_err(|e| ops::Error::internal(format!("cannot gzip an entry bundle: {e}")))?;
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            *response.body_mut() = zipped.into();
            return Ok(response);
        }
    }
    *response.body_mut() = bytes.into();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_follows_the_spec_example() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(parse_index(&["x001", "x234", "067"]), Some(1234067));
        assert_eq!(parse_index(&["1", "234"]), None);
        assert_eq!(parse_index(&["x001", "x234", "x067"]), None);
        for n in [0u64, 5, 999, 1000, 256_000_123, u32::MAX as u64] {
            let s = encode_index(n);
            let elems: Vec<&str> = s.split('/').collect();
            assert_eq!(parse_index(&elems), Some(n));
        }
    }

    #[test]
    fn tile_paths_parse_full_partial_and_entries() {
        assert_eq!(
            parse_tile_path("0/x001/x234/067"),
            Some(TileRef {
                level: Some(0),
                index: 1234067,
                width: 256
            })
        );
        assert_eq!(
            parse_tile_path("2/000.p/7"),
            Some(TileRef {
                level: Some(2),
                index: 0,
                width: 7
            })
        );
        assert_eq!(
            parse_tile_path("entries/001.p/255"),
            Some(TileRef {
                level: None,
                index: 1,
                width: 255
            })
        );
        for bad in [
            "00/000",
            "64/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/1",
            "0/000/",
            "x/000",
            "0/x000/000",
            "entries/x000/000",
            "0/x000/x001/000",
            "1/x000/005.p/3",
        ] {
            assert_eq!(parse_tile_path(bad), None, "{bad}");
        }
    }
}
