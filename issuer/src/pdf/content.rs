//! Page content streams written straight from the page's printpdf ops.
//!
//! printpdf's serializer turns every [`Op`] into lopdf `Operation`s (an allocated `Vec` of
//! `Object`s each) and lopdf then formats every number with `f32`'s `Display`; callgrind showed
//! that path as 40 % of a certificate's instructions (docs/benchmarks.md, "Issuer"). The page ops
//! here are the few kinds the certificate layout draws, so they are written directly as PDF
//! content bytes (ISO 32000-1 §8, §9.4) with a fixed-precision number formatter.
//!
//! Text stays printpdf's business where it matters: printpdf serializes a sample page that
//! shows each used character once per face, which makes it subset the faces and write their
//! `/W` widths and `ToUnicode` maps; the glyph codes it wrote on that sample (the subset's
//! renumbered glyph ids, Identity-H) are read back ([`glyph_codes`]) and used for the real pages.
//! So the codes always agree with the embedded subset, whatever numbering printpdf chooses.

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, PdfFontHandle, Polygon, Pt, Rect, TextItem,
    WindingOrder,
};

use crate::Error;

/// The characters each face shows on the pages, sorted and deduplicated, per font in the order
/// given; faces that show nothing are left out (printpdf does not embed them either).
pub(super) fn used_chars(pages: &[Vec<Op>], fonts: &[&FontId]) -> Vec<(FontId, Vec<char>)> {
    let mut used: Vec<Vec<char>> = vec![Vec::new(); fonts.len()];
    for ops in pages {
        let mut current: Option<usize> = None;
        for op in ops {
            match op {
                Op::SetFont {
                    font: PdfFontHandle::External(id),
                    ..
                } => current = fonts.iter().position(|f| *f == id),
                Op::ShowText { items } => {
                    if let Some(i) = current {
                        for item in items {
                            if let TextItem::Text(text) = item {
                                used[i].extend(text.chars());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    fonts
        .iter()
        .zip(used)
        .filter_map(|(font, mut chars)| {
            chars.sort_unstable();
            chars.dedup();
            (!chars.is_empty()).then(|| ((*font).clone(), chars))
        })
        .collect()
}

/// One text object showing every used character of each face once, at size 1: the page
/// printpdf serializes so that it subsets the faces (see the module docs).
pub(super) fn sample_ops(used: &[(FontId, Vec<char>)]) -> Vec<Op> {
    let mut ops = vec![Op::StartTextSection];
    for (font, chars) in used {
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(font.clone()),
            size: Pt(1.0),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(chars.iter().collect())],
        });
    }
    ops.push(Op::EndTextSection);
    ops
}

/// A face's resource name and the 2-byte Identity-H code of each character it shows.
pub(super) struct FontCodes {
    name: String,
    chars: Vec<char>,
    codes: Vec<[u8; 2]>,
}

/// Reads the glyph codes printpdf wrote for the sample page of [`sample_ops`]: its uncompressed
/// content holds one hex string per face, in the order of `used`, two bytes per character.
///
/// # Errors
/// [`Error::Pdf`] if the sample content does not have that shape.
pub(super) fn glyph_codes(
    sample: &[u8],
    used: Vec<(FontId, Vec<char>)>,
) -> Result<Vec<FontCodes>, Error> {
    let mut strings = sample.split(|&b| b == b'<').skip(1).map(|rest| {
        let end = rest.iter().position(|&b| b == b'>').unwrap_or(rest.len());
        &rest[..end]
    });
    let shape = |what: &str| Error::Pdf(format!("printpdf's sample page: {what}"));
    used.into_iter()
        .map(|(font, chars)| {
            let hex = strings
                .next()
                .ok_or_else(|| shape("a face's text is missing"))?;
            if hex.len() != chars.len() * 4 {
                return Err(shape("not two bytes per character"));
            }
            let codes = hex
                .chunks_exact(4)
                .map(|h| {
                    let digit = |i: usize| {
                        char::from(h[i])
                            .to_digit(16)
                            .map(|d| d as u8)
                            .ok_or_else(|| shape("not a hex string"))
                    };
                    Ok([digit(0)? << 4 | digit(1)?, digit(2)? << 4 | digit(3)?])
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(FontCodes {
                name: font.0,
                chars,
                codes,
            })
        })
        .collect()
}

/// The content stream of one page: `ops` as PDF operators, text encoded with `fonts`' codes.
///
/// # Errors
/// [`Error::Pdf`] for an op kind the certificate layout does not draw (and this writer therefore
/// does not implement), text in a font without codes, or a character missing from its face's
/// codes.
pub(super) fn write_page(ops: &[Op], fonts: &[FontCodes]) -> Result<Vec<u8>, Error> {
    let mut w = Writer(Vec::with_capacity(ops.len() * 24));
    let mut font: Option<&FontCodes> = None;
    for op in ops {
        match op {
            Op::StartTextSection => w.op(b"BT"),
            Op::EndTextSection => w.op(b"ET"),
            Op::SaveGraphicsState => w.op(b"q"),
            Op::RestoreGraphicsState => w.op(b"Q"),
            Op::SetFillColor { col } => w.color(col, b"rg")?,
            Op::SetOutlineColor { col } => w.color(col, b"RG")?,
            Op::SetOutlineThickness { pt } => {
                w.num(pt.0);
                w.op(b"w");
            }
            Op::SetFont {
                font: PdfFontHandle::External(id),
                size,
            } => {
                font = fonts.iter().find(|f| f.name == id.0);
                w.0.push(b'/');
                w.0.extend_from_slice(id.0.as_bytes());
                w.0.push(b' ');
                w.num(size.0);
                w.op(b"Tf");
            }
            Op::SetTextCursor { pos } => {
                w.num(pos.x.0);
                w.num(pos.y.0);
                w.op(b"Td");
            }
            Op::ShowText { items } => {
                let font = font.ok_or_else(|| Error::Pdf("text before a font".into()))?;
                for item in items {
                    let TextItem::Text(text) = item else {
                        return Err(unsupported(op));
                    };
                    w.text(text, font)?;
                }
            }
            Op::DrawRectangle { rectangle } => w.rect(rectangle).ok_or_else(|| unsupported(op))?,
            Op::DrawLine { line } => w.line(line).ok_or_else(|| unsupported(op))?,
            Op::DrawPolygon { polygon } => w.polygon(polygon).ok_or_else(|| unsupported(op))?,
            Op::SetTransformationMatrix { matrix } => {
                // Six decimals: this matrix scales the QR symbol's module grid, where an error
                // in the scale is multiplied by ~100 modules.
                for v in matrix.as_array() {
                    w.num_precise(v, 6);
                }
                w.op(b"cm");
            }
            _ => return Err(unsupported(op)),
        }
    }
    Ok(w.0)
}

fn unsupported(op: &Op) -> Error {
    Error::Pdf(format!("content writer: unsupported page op {op:?}"))
}

/// A content stream being written: each operand is followed by a space, each operator by a
/// newline.
struct Writer(Vec<u8>);

impl Writer {
    fn op(&mut self, operator: &[u8]) {
        self.0.extend_from_slice(operator);
        self.0.push(b'\n');
    }

    /// `v` with at most four decimals (1/10 000 pt, far below any device's resolution), without
    /// trailing zeros.
    fn num(&mut self, v: f32) {
        self.num_precise(v, 4);
    }

    /// `v` rounded to `decimals` (at most 6) decimals, without trailing zeros or exponent (PDF
    /// reals have none, ISO 32000-1 §7.3.3).
    fn num_precise(&mut self, v: f32, decimals: u32) {
        let scale = 10_i64.pow(decimals);
        let scaled = (f64::from(v) * scale as f64).round() as i64;
        if scaled < 0 {
            self.0.push(b'-');
        }
        let abs = scaled.unsigned_abs();
        let scale = scale as u64;
        push_digits(&mut self.0, abs / scale);
        let mut frac = abs % scale;
        if frac != 0 {
            self.0.push(b'.');
            let mut digits = decimals;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            let mut buf = [b'0'; 6];
            for slot in buf[..digits as usize].iter_mut().rev() {
                *slot = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            self.0.extend_from_slice(&buf[..digits as usize]);
        }
        self.0.push(b' ');
    }

    fn color(&mut self, color: &Color, operator: &[u8]) -> Result<(), Error> {
        let Color::Rgb(rgb) = color else {
            return Err(Error::Pdf(format!(
                "content writer: unsupported colour {color:?}"
            )));
        };
        self.num(rgb.r);
        self.num(rgb.g);
        self.num(rgb.b);
        self.op(operator);
        Ok(())
    }

    fn text(&mut self, text: &str, font: &FontCodes) -> Result<(), Error> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.0.push(b'<');
        for c in text.chars() {
            let i = font.chars.binary_search(&c).map_err(|_| {
                Error::Pdf(format!("content writer: {c:?} missing from {}", font.name))
            })?;
            for byte in font.codes[i] {
                self.0.push(HEX[usize::from(byte >> 4)]);
                self.0.push(HEX[usize::from(byte & 15)]);
            }
        }
        self.0.extend_from_slice(b"> ");
        self.op(b"Tj");
        Ok(())
    }

    fn point(&mut self, p: &LinePoint, operator: &[u8]) -> Option<()> {
        if p.bezier {
            return None;
        }
        self.num(p.p.x.0);
        self.num(p.p.y.0);
        self.op(operator);
        Some(())
    }

    /// Painted like printpdf paints it (`re`, then `f`/`f*` or `S`).
    fn rect(&mut self, r: &Rect) -> Option<()> {
        for v in [r.x.0, r.y.0, r.width.0, r.height.0] {
            self.num(v);
        }
        self.op(b"re");
        match (r.mode, r.winding_order.unwrap_or(WindingOrder::NonZero)) {
            (Some(PaintMode::Fill), WindingOrder::NonZero) => self.op(b"f"),
            (Some(PaintMode::Fill), WindingOrder::EvenOdd) => self.op(b"f*"),
            (Some(PaintMode::Stroke), _) => self.op(b"S"),
            _ => return None,
        }
        Some(())
    }

    /// An open or closed straight polyline, stroked.
    fn line(&mut self, line: &Line) -> Option<()> {
        let (first, rest) = line.points.split_first()?;
        self.point(first, b"m")?;
        for p in rest {
            self.point(p, b"l")?;
        }
        if line.is_closed {
            self.op(b"h");
        }
        self.op(b"S");
        Some(())
    }

    /// A filled polygon. A ring that is an axis-aligned rectangle drawn counter-clockwise from its
    /// lower-left corner (each QR module run) is written as `re`, which appends exactly that
    /// closed subpath (ISO 32000-1 §8.5.2.1): the same area to fill, in a third of the bytes.
    fn polygon(&mut self, polygon: &Polygon) -> Option<()> {
        if !matches!(polygon.mode, PaintMode::Fill) {
            return None;
        }
        for ring in &polygon.rings {
            if let Some([x, y, w, h]) = as_rect(&ring.points) {
                for v in [x, y, w, h] {
                    self.num(v);
                }
                self.op(b"re");
                continue;
            }
            let (first, rest) = ring.points.split_first()?;
            self.point(first, b"m")?;
            for p in rest {
                self.point(p, b"l")?;
            }
            self.op(b"h");
        }
        self.op(match polygon.winding_order {
            WindingOrder::NonZero => b"f",
            WindingOrder::EvenOdd => b"f*",
        });
        Some(())
    }
}

/// `[x, y, width, height]` if `points` go (x, y) → (x + w, y) → (x + w, y + h) → (x, y + h)
/// with straight edges and positive w, h.
fn as_rect(points: &[LinePoint]) -> Option<[f32; 4]> {
    let [a, b, c, d] = points else {
        return None;
    };
    if [a, b, c, d].iter().any(|p| p.bezier) {
        return None;
    }
    let (a, b, c, d) = (a.p, b.p, c.p, d.p);
    let (w, h) = (b.x.0 - a.x.0, d.y.0 - a.y.0);
    let rect = b.y == a.y && c.x == b.x && c.y == d.y && d.x == a.x && w > 0.0 && h > 0.0;
    rect.then_some([a.x.0, a.y.0, w, h])
}

fn push_digits(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0_u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(v: f32, decimals: u32) -> String {
        let mut w = Writer(Vec::new());
        w.num_precise(v, decimals);
        String::from_utf8(w.0).unwrap()
    }

    #[test]
    fn numbers_are_fixed_precision_without_trailing_zeros_or_exponent() {
        assert_eq!(formatted(595.276, 4), "595.276 ");
        assert_eq!(formatted(0.0, 4), "0 ");
        assert_eq!(formatted(-0.0, 4), "0 ");
        assert_eq!(formatted(52.0, 4), "52 ");
        assert_eq!(formatted(-12.5, 4), "-12.5 ");
        assert_eq!(formatted(0.965, 4), "0.965 ");
        assert_eq!(formatted(0.00004, 4), "0 ");
        assert_eq!(formatted(0.000_06, 4), "0.0001 ");
        assert_eq!(formatted(1e-7, 4), "0 ");
        assert_eq!(formatted(1.403_286, 6), "1.403286 ");
        assert_eq!(formatted(-0.05, 6), "-0.05 ");
        assert_eq!(formatted(123_456_789.0, 4), "123456792 ");
    }

    fn lp(x: f32, y: f32) -> LinePoint {
        LinePoint {
            p: printpdf::Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        }
    }

    #[test]
    fn only_counter_clockwise_axis_aligned_rings_become_rectangles() {
        let ccw = [lp(1.0, 2.0), lp(4.0, 2.0), lp(4.0, 3.0), lp(1.0, 3.0)];
        assert_eq!(as_rect(&ccw), Some([1.0, 2.0, 3.0, 1.0]));
        let cw = [lp(1.0, 2.0), lp(1.0, 3.0), lp(4.0, 3.0), lp(4.0, 2.0)];
        assert_eq!(as_rect(&cw), None);
        let skewed = [lp(1.0, 2.0), lp(4.0, 2.5), lp(4.0, 3.0), lp(1.0, 3.0)];
        assert_eq!(as_rect(&skewed), None);
        assert_eq!(as_rect(&ccw[..3]), None);
    }

    #[test]
    fn glyph_codes_are_read_per_face_in_order() {
        let used = vec![
            (FontId("F1".into()), vec!['a', 'ә']),
            (FontId("F2".into()), vec!['Қ']),
        ];
        let sample = b"BT\n/F1 1 Tf\n<0003001A> Tj\n/F2 1 Tf\n<00ff> Tj\nET\n";
        let codes = glyph_codes(sample, used.clone()).unwrap();
        assert_eq!(codes[0].codes, vec![[0, 3], [0, 0x1a]]);
        assert_eq!(codes[1].codes, vec![[0, 0xff]]);
        let ops = [
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(FontId("F2".into())),
                size: Pt(8.3),
            },
            Op::SetTextCursor {
                pos: printpdf::Point {
                    x: Pt(52.0),
                    y: Pt(-1.25),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text("ҚҚ".into())],
            },
            Op::EndTextSection,
        ];
        assert_eq!(
            String::from_utf8(write_page(&ops, &codes).unwrap()).unwrap(),
            "BT\n/F2 8.3 Tf\n52 -1.25 Td\n<00FF00FF> Tj\nET\n"
        );
        let missing = [
            Op::SetFont {
                font: PdfFontHandle::External(FontId("F1".into())),
                size: Pt(8.0),
            },
            Op::ShowText {
                items: vec![TextItem::Text("Қ".into())],
            },
        ];
        assert!(write_page(&missing, &codes).is_err());
        let short = b"BT\n/F1 1 Tf\n<0003> Tj\nET\n";
        assert!(glyph_codes(short, used).is_err());
    }
}
