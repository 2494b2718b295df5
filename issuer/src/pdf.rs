//! The PDF certificate: A4 pages laid out by hand with printpdf ops, evidence attached with lopdf.
//!
//! Design decisions:
//! - **Hand layout, not printpdf's HTML engine**: a certificate has a fixed design, and absolute
//!   positions make the output deterministic and about an order of magnitude cheaper to produce.
//!   Text is measured with the font's own advance widths (`hmtx`), the same numbers the PDF's
//!   `/W` array gives the viewer, so centring and right alignment are exact.
//! - **One font family, embedded and subset**: DejaVu Sans (regular and bold) covers Latin,
//!   Cyrillic and every Kazakh letter (ә ғ қ ң ө ұ ү һ і). printpdf's `text_layout` feature
//!   subsets each face to the glyphs used and writes a `ToUnicode` CMap, so the text extracts and
//!   searches correctly and the file stays small.
//! - **Vector QR**: the symbol is one filled path of module runs in a module-unit coordinate
//!   system, sharp at any zoom and a few kilobytes compressed.
//! - **Evidence as an associated file** (ISO 32000-2 §14.13): the bundle is an embedded file
//!   stream named `sagat-evidence.cbor`, listed in the catalog's `/Names /EmbeddedFiles` name tree
//!   (ISO 32000-1 §7.11.4) and in the catalog's `/AF` array with `/AFRelationship /Data`. printpdf
//!   cannot write attachments, so the document is finished on printpdf's own `lopdf::Document`
//!   before it is serialized: no second parse.
//! - **QR text in the info dictionary** under the custom key `/SagatQR` (ISO 32000-1 §14.3.3
//!   allows private keys), so a verifier reading the file need not rasterize the page.

use std::sync::OnceLock;

use printpdf::{
    Color, CurTransMat, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rect, Rgb, TextItem,
    WindingOrder,
};

use sagat_verifier::Category;

use crate::i18n::{Lang, Text};
use crate::qr::{QrMatrix, QR_QUIET_ZONE};
use crate::Error;

mod content;

/// File name of the evidence attachment.
pub const EVIDENCE_FILE_NAME: &str = "sagat-evidence.cbor";
/// Info-dictionary key holding the QR text.
pub const PDF_QR_INFO_KEY: &str = "SagatQR";
/// Printed side of the QR code, in millimetres (the issue asks for at least 45).
pub const QR_SIDE_MM: f32 = 50.0;

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// What a certificate shows. Texts are already in the certificate's language (organization names,
/// activity titles); labels come from the translation table ([`Lang::text`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's language.
    pub lang: Lang,
    /// Optional second language for the labels (bilingual certificate).
    pub lang2: Option<Lang>,
    /// The holder's name as the volunteer wrote it.
    pub holder: String,
    /// Total minutes counted.
    pub total_minutes: u64,
    /// First day of the period, `YYYY-MM-DD`.
    pub period_from: String,
    /// Last day of the period, `YYYY-MM-DD`.
    pub period_to: String,
    /// Every counted attestation, in the order printed.
    pub rows: Vec<CertificateRow>,
    /// Credential id, 32 hex digits.
    pub credential_id: String,
    /// Issue time, seconds since the Unix epoch (UTC).
    pub issued_at: i64,
    /// The issuer's display name.
    pub issuer_name: String,
    /// The issuer key id (`kid`), hex.
    pub issuer_kid: String,
    /// Tree size of the checkpoint the credential was issued against.
    pub checkpoint_size: u64,
    /// Root hash of that checkpoint.
    pub checkpoint_root: [u8; 32],
    /// The QR text (`VH1:...`).
    pub qr_text: String,
    /// The operator's verify address: the printed QR code carries the URL form
    /// `<verify URL>#VH1:…` and the page says to open it; `None`: the bare QR text.
    pub verify_url: Option<String>,
    /// The evidence bundle, attached as `sagat-evidence.cbor`.
    pub evidence: Vec<u8>,
}

/// One counted attestation, as printed in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRow {
    /// Day worked, `YYYY-MM-DD`.
    pub date: String,
    /// Organization name.
    pub organization: String,
    /// Activity title, if the hours belong to one.
    pub activity: Option<String>,
    /// Activity category, if known.
    pub category: Option<Category>,
    /// Minutes counted.
    pub minutes: u64,
    /// Whether the organization corrected the date or minutes after attesting.
    pub corrected: bool,
}

struct Fonts {
    regular: ParsedFont,
    bold: ParsedFont,
}

fn fonts() -> Result<&'static Fonts, Error> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = ParsedFont::from_bytes(REGULAR_TTF, 0, &mut Vec::new())?;
            let bold = ParsedFont::from_bytes(BOLD_TTF, 0, &mut Vec::new())?;
            Some(Fonts { regular, bold })
        })
        .as_ref()
        .ok_or(Error::Font("DejaVuSans.ttf / DejaVuSans-Bold.ttf"))
}

// Page geometry, in points (1/72 inch). A4 = 210 × 297 mm.
const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 52.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const FOOTER_Y: f32 = 34.0;

// Table columns: date, organization, activity, category, hours (sum = CONTENT_W).
const COLUMNS: [f32; 5] = [60.0, 128.0, 140.0, 88.0, CONTENT_W - 416.0];
const CELL_PAD: f32 = 4.0;
const ROW_FONT: f32 = 8.3;
const ROW_LEADING: f32 = 10.6;
const MAX_CELL_LINES: usize = 3;

const NAVY: (f32, f32, f32) = (0.10, 0.19, 0.36);
const GOLD: (f32, f32, f32) = (0.70, 0.55, 0.22);
const INK: (f32, f32, f32) = (0.12, 0.12, 0.14);
const GREY: (f32, f32, f32) = (0.40, 0.42, 0.46);
const HEADER_FILL: (f32, f32, f32) = (0.90, 0.92, 0.96);
const ZEBRA_FILL: (f32, f32, f32) = (0.965, 0.97, 0.98);

fn rgb(c: (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb::new(c.0, c.1, c.2, None))
}

fn pt(x: f32, y: f32) -> LinePoint {
    LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    }
}

/// Collects the ops of one page, measuring text with the embedded faces.
struct Canvas<'a> {
    ops: Vec<Op>,
    fonts: &'a Fonts,
    regular: &'a FontId,
    bold: &'a FontId,
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
    Right,
}

impl<'a> Canvas<'a> {
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        };
        let units: u32 = text
            .chars()
            .map(|c| {
                let gid = face.lookup_glyph_index(c as u32).unwrap_or(0);
                u32::from(face.get_horizontal_advance(gid))
            })
            .sum();
        units as f32 * size / f32::from(face.pdf_font_metrics.units_per_em.max(1))
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: (f32, f32, f32),
        align: Align,
        text: &str,
    ) {
        if text.is_empty() {
            return;
        }
        let x = match align {
            Align::Left => x,
            Align::Center => x - self.width(text, size, bold) / 2.0,
            Align::Right => x - self.width(text, size, bold),
        };
        let font = if bold { self.bold } else { self.regular };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor { col: rgb(color) },
            Op::SetFont {
                font: PdfFontHandle::External(font.clone()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        self.ops.push(Op::SetFillColor { col: rgb(color) });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(y),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, color: (f32, f32, f32)) {
        self.ops.push(Op::SetOutlineColor { col: rgb(color) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(y),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Stroke),
                winding_order: None,
            },
        });
    }

    fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32, color: (f32, f32, f32)) {
        self.ops.push(Op::SetOutlineColor { col: rgb(color) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![pt(x1, y), pt(x2, y)],
                is_closed: false,
            },
        });
    }

    /// Greedy word wrap to `max_w`; a word wider than the line is cut by characters. At most
    /// `max_lines` lines: the last one ends in an ellipsis if text was left over.
    fn wrap(&self, text: &str, size: f32, bold: bool, max_w: f32, max_lines: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if self.width(&candidate, size, bold) <= max_w {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // The word alone: cut it if it is wider than a line.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if self.width(&piece, size, bold) > max_w {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            current = piece;
        }
        if !current.is_empty() {
            lines.push(current);
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            let last = lines.last_mut().expect("max_lines > 0");
            while !last.is_empty() && self.width(&format!("{last}…"), size, bold) > max_w {
                last.pop();
            }
            last.push('…');
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    /// The QR symbol with its quiet zone, lower-left corner at (`x`, `y`), `side` points wide.
    fn qr(&mut self, m: &QrMatrix, x: f32, y: f32, side: f32) {
        let modules = (m.width + 2 * QR_QUIET_ZONE) as f32;
        let unit = side / modules;
        let rings = m
            .dark_runs()
            .into_iter()
            .map(|(row, x0, len)| {
                // Module rows count from the top; PDF y grows upwards.
                let left = (x0 + QR_QUIET_ZONE) as f32;
                let bottom = (m.width - 1 - row + QR_QUIET_ZONE) as f32;
                let right = left + len as f32;
                PolygonRing {
                    points: vec![
                        pt(left, bottom),
                        pt(right, bottom),
                        pt(right, bottom + 1.0),
                        pt(left, bottom + 1.0),
                    ],
                }
            })
            .collect();
        self.fill_rect(x, y, side, side, (1.0, 1.0, 1.0));
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw([unit, 0.0, 0.0, unit, x, y]),
        });
        self.ops.push(Op::SetFillColor {
            col: rgb((0.0, 0.0, 0.0)),
        });
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings,
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
        self.ops.push(Op::RestoreGraphicsState);
    }
}

/// Labels in the certificate's language, with the second language when asked for.
struct Labels {
    lang: Lang,
    lang2: Option<Lang>,
}

impl Labels {
    fn one(&self, key: Text) -> &'static str {
        self.lang.text(key)
    }
    fn two(&self, key: Text) -> Option<&'static str> {
        self.lang2.map(|l| l.text(key))
    }
    /// `primary / secondary`, or just the primary label.
    fn both(&self, key: Text) -> String {
        match self.two(key) {
            Some(second) => format!("{} / {second}", self.one(key)),
            None => self.one(key).to_string(),
        }
    }
}

/// A table row laid out: the lines of each cell and the row's height.
struct LaidRow {
    cells: [Vec<String>; 5],
    height: f32,
    bold: bool,
}

fn lay_out_rows(canvas: &Canvas<'_>, cert: &Certificate) -> Vec<LaidRow> {
    let lang = cert.lang;
    let mut rows: Vec<LaidRow> = cert
        .rows
        .iter()
        .map(|r| {
            let mut activity = r
                .activity
                .clone()
                .unwrap_or_else(|| lang.text(Text::NoActivity).to_string());
            if r.corrected {
                activity = format!("{activity} ({})", lang.text(Text::Corrected));
            }
            let category = r.category.map(|c| lang.category(c)).unwrap_or("—");
            let texts = [
                lang.short_date(&r.date),
                r.organization.clone(),
                activity,
                category.to_string(),
                lang.duration(r.minutes),
            ];
            lay_out_row(canvas, texts, false)
        })
        .collect();
    let total = [
        String::new(),
        lang.text(Text::TableTotal).to_string(),
        String::new(),
        String::new(),
        lang.duration(cert.total_minutes),
    ];
    rows.push(lay_out_row(canvas, total, true));
    rows
}

fn lay_out_row(canvas: &Canvas<'_>, texts: [String; 5], bold: bool) -> LaidRow {
    let cells: [Vec<String>; 5] = std::array::from_fn(|i| {
        canvas.wrap(
            &texts[i],
            ROW_FONT,
            bold,
            COLUMNS[i] - 2.0 * CELL_PAD,
            MAX_CELL_LINES,
        )
    });
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1) as f32;
    LaidRow {
        cells,
        height: lines * ROW_LEADING + 7.0,
        bold,
    }
}

/// Draws the table header at `top` (y of its upper edge); returns the y below it.
fn draw_table_header(canvas: &mut Canvas<'_>, labels: &Labels, top: f32) -> f32 {
    let keys = [
        Text::ColumnDate,
        Text::ColumnOrganization,
        Text::ColumnActivity,
        Text::ColumnCategory,
        Text::ColumnHours,
    ];
    let height = if labels.lang2.is_some() { 26.0 } else { 17.0 };
    canvas.fill_rect(MARGIN, top - height, CONTENT_W, height, HEADER_FILL);
    let mut x = MARGIN;
    for (i, key) in keys.into_iter().enumerate() {
        let (anchor, align) = if i == 4 {
            (x + COLUMNS[i] - CELL_PAD, Align::Right)
        } else {
            (x + CELL_PAD, Align::Left)
        };
        canvas.text(anchor, top - 11.5, 8.0, true, NAVY, align, labels.one(key));
        if let Some(second) = labels.two(key) {
            canvas.text(anchor, top - 21.5, 7.0, false, GREY, align, second);
        }
        x += COLUMNS[i];
    }
    canvas.hline(MARGIN, MARGIN + CONTENT_W, top - height, 0.8, NAVY);
    top - height
}

fn draw_row(canvas: &mut Canvas<'_>, row: &LaidRow, top: f32, zebra: bool) {
    if row.bold {
        canvas.hline(MARGIN, MARGIN + CONTENT_W, top, 0.8, NAVY);
    } else if zebra {
        canvas.fill_rect(MARGIN, top - row.height, CONTENT_W, row.height, ZEBRA_FILL);
    }
    let mut x = MARGIN;
    for (i, lines) in row.cells.iter().enumerate() {
        for (n, line) in lines.iter().enumerate() {
            let y = top - 3.5 - ROW_FONT - n as f32 * ROW_LEADING;
            let (anchor, align) = if i == 4 {
                (x + COLUMNS[i] - CELL_PAD, Align::Right)
            } else {
                (x + CELL_PAD, Align::Left)
            };
            let color = if row.bold { NAVY } else { INK };
            canvas.text(anchor, y, ROW_FONT, row.bold, color, align, line);
        }
        x += COLUMNS[i];
    }
}

fn draw_frame(canvas: &mut Canvas<'_>) {
    canvas.stroke_rect(18.0, 18.0, PAGE_W - 36.0, PAGE_H - 36.0, 1.6, NAVY);
    canvas.stroke_rect(23.0, 23.0, PAGE_W - 46.0, PAGE_H - 46.0, 0.5, GOLD);
}

fn draw_footer(
    canvas: &mut Canvas<'_>,
    cert: &Certificate,
    labels: &Labels,
    n: usize,
    total: usize,
) {
    let left = format!(
        "Sagat · {}: {}",
        labels.one(Text::CredentialId),
        cert.credential_id
    );
    canvas.text(MARGIN, FOOTER_Y, 6.8, false, GREY, Align::Left, &left);
    let page = labels.lang.fill(
        Text::PageOf,
        &[("n", &n.to_string()), ("total", &total.to_string())],
    );
    canvas.text(
        MARGIN + CONTENT_W,
        FOOTER_Y,
        6.8,
        false,
        GREY,
        Align::Right,
        &page,
    );
}

/// Height of the verification block at the bottom of page 1.
fn verification_block_height() -> f32 {
    QR_SIDE_MM * 72.0 / 25.4 + 44.0
}

/// Draws the QR code and the credential facts above the footer of page 1.
fn draw_verification_block(
    canvas: &mut Canvas<'_>,
    cert: &Certificate,
    labels: &Labels,
    qr: &QrMatrix,
) {
    let lang = cert.lang;
    let side = QR_SIDE_MM * 72.0 / 25.4;
    let bottom = FOOTER_Y + 40.0;
    let top = bottom + side;
    canvas.hline(MARGIN, MARGIN + CONTENT_W, top + 12.0, 0.5, GOLD);
    canvas.qr(qr, MARGIN - 6.0, bottom, side);

    // Facts to the right of the QR code: label (small, grey) above value.
    let x = MARGIN + side + 16.0;
    let max_w = MARGIN + CONTENT_W - x;
    let issue_day = sagat_verifier::format_date(sagat_verifier::date_from_unix(cert.issued_at));
    let root_hex = hex::encode(&cert.checkpoint_root[..8]);
    let facts: [(Text, String); 3] = [
        (Text::CredentialId, cert.credential_id.clone()),
        (Text::IssueDate, lang.long_date(&issue_day)),
        (Text::IssuedBy, cert.issuer_name.clone()),
    ];
    let mut y = top - 8.0;
    for (key, value) in &facts {
        canvas.text(x, y, 7.2, false, GREY, Align::Left, &labels.both(*key));
        y -= 12.5;
        let size = if *key == Text::CredentialId {
            9.5
        } else {
            10.5
        };
        for line in canvas.wrap(value, size, true, max_w, 2) {
            canvas.text(x, y, size, true, INK, Align::Left, &line);
            y -= size + 3.0;
        }
        y -= 6.0;
    }
    let signed = lang.fill(Text::SignedWith, &[("kid", &cert.issuer_kid)]);
    canvas.text(x, y, 7.2, false, GREY, Align::Left, &signed);
    y -= 10.0;
    let log = lang.fill(
        Text::LogCheckpoint,
        &[
            ("size", &cert.checkpoint_size.to_string()),
            ("root", &format!("{root_hex}…")),
        ],
    );
    canvas.text(x, y, 7.2, false, GREY, Align::Left, &log);

    // Full-width lines under the block: how to verify (both languages), evidence.
    let how = |l: Lang| match &cert.verify_url {
        Some(url) => l.fill(Text::HowToVerifyAt, &[("url", url)]),
        None => l.text(Text::HowToVerify).to_string(),
    };
    let mut y = bottom - 12.0;
    for line in canvas.wrap(&how(lang), 8.0, true, CONTENT_W, 2) {
        canvas.text(MARGIN, y, 8.0, true, NAVY, Align::Left, &line);
        y -= 10.0;
    }
    if let Some(second) = labels.lang2 {
        for line in canvas.wrap(&how(second), 7.2, false, CONTENT_W, 2) {
            canvas.text(MARGIN, y, 7.2, false, GREY, Align::Left, &line);
            y -= 10.0;
        }
    }
    for line in canvas.wrap(lang.text(Text::EvidenceAttached), 6.8, false, CONTENT_W, 2) {
        canvas.text(MARGIN, y, 6.8, false, GREY, Align::Left, &line);
        y -= 8.5;
    }
}

/// Draws the head of page 1 (issuer, title, holder, summary); returns the y below it.
fn draw_head(canvas: &mut Canvas<'_>, cert: &Certificate, labels: &Labels) -> f32 {
    let lang = cert.lang;
    let cx = PAGE_W / 2.0;
    let mut y = PAGE_H - 62.0;
    canvas.text(
        cx,
        y,
        9.0,
        false,
        GREY,
        Align::Center,
        &cert.issuer_name.to_uppercase(),
    );
    y -= 34.0;
    let title = lang.text(Text::Title).to_uppercase();
    let title_size = fit_size(canvas, &title, 20.0, true, CONTENT_W);
    canvas.text(cx, y, title_size, true, NAVY, Align::Center, &title);
    if let Some(second) = labels.lang2 {
        y -= 17.0;
        canvas.text(
            cx,
            y,
            10.5,
            false,
            GREY,
            Align::Center,
            second.text(Text::Title),
        );
    }
    y -= 14.0;
    canvas.hline(cx - 60.0, cx + 60.0, y, 1.2, GOLD);
    y -= 28.0;
    canvas.text(
        cx,
        y,
        10.5,
        false,
        INK,
        Align::Center,
        lang.text(Text::Certifies),
    );
    if let Some(second) = labels.lang2 {
        y -= 12.5;
        canvas.text(
            cx,
            y,
            8.0,
            false,
            GREY,
            Align::Center,
            second.text(Text::Certifies),
        );
    }
    y -= 36.0;
    let name_size = fit_size(canvas, &cert.holder, 26.0, true, CONTENT_W);
    canvas.text(cx, y, name_size, true, INK, Align::Center, &cert.holder);
    y -= 12.0;
    canvas.hline(cx - 150.0, cx + 150.0, y, 0.6, GREY);
    y -= 30.0;

    // Summary: three centred columns.
    let orgs = {
        let mut names: Vec<&str> = cert.rows.iter().map(|r| r.organization.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    };
    let period = lang.fill(
        Text::PeriodRange,
        &[
            ("from", &lang.short_date(&cert.period_from)),
            ("to", &lang.short_date(&cert.period_to)),
        ],
    );
    let summary = [
        (Text::TotalHours, lang.duration(cert.total_minutes), 15.0),
        (Text::Period, period, 11.0),
        (Text::Organizations, orgs.to_string(), 15.0),
    ];
    let col_w = CONTENT_W / 3.0;
    for (i, (key, value, size)) in summary.iter().enumerate() {
        let ccx = MARGIN + col_w * (i as f32 + 0.5);
        canvas.text(
            ccx,
            y,
            7.5,
            false,
            GREY,
            Align::Center,
            &labels.both(*key).to_uppercase(),
        );
        let size = fit_size(canvas, value, *size, true, col_w - 8.0);
        canvas.text(ccx, y - 19.0, size, true, NAVY, Align::Center, value);
    }
    y - 44.0
}

/// `size`, shrunk until `text` fits `max_w` (never below 60 %).
fn fit_size(canvas: &Canvas<'_>, text: &str, size: f32, bold: bool, max_w: f32) -> f32 {
    let w = canvas.width(text, size, bold);
    if w <= max_w {
        size
    } else {
        (size * max_w / w).max(size * 0.6)
    }
}

fn draw_table_title(canvas: &mut Canvas<'_>, labels: &Labels, y: f32, continued: bool) -> f32 {
    let key = if continued {
        Text::ActivitiesContinued
    } else {
        Text::ActivitiesHeading
    };
    canvas.text(MARGIN, y, 11.0, true, NAVY, Align::Left, labels.one(key));
    if let Some(second) = labels.two(key) {
        let x = MARGIN + canvas.width(labels.one(key), 11.0, true) + 8.0;
        let size = fit_size(canvas, second, 8.5, false, MARGIN + CONTENT_W - x);
        canvas.text(x, y, size, false, GREY, Align::Left, second);
    }
    y - 8.0
}

/// Builds the page ops of `cert`: the layout, without serialization.
fn build_pages(
    cert: &Certificate,
    fonts: &Fonts,
    regular: &FontId,
    bold: &FontId,
) -> Result<Vec<Vec<Op>>, Error> {
    let labels = Labels {
        lang: cert.lang,
        lang2: cert.lang2.filter(|l| *l != cert.lang),
    };
    let qr = QrMatrix::new(&sagat_verifier::qr_code_text(
        &cert.qr_text,
        cert.verify_url.as_deref(),
    ))?;
    let new_canvas = || Canvas {
        ops: Vec::with_capacity(512),
        fonts,
        regular,
        bold,
    };
    let measure = new_canvas();
    let rows = lay_out_rows(&measure, cert);

    let mut pages: Vec<Canvas<'_>> = Vec::new();
    let mut canvas = new_canvas();
    draw_frame(&mut canvas);
    let head_bottom = draw_head(&mut canvas, cert, &labels);
    draw_verification_block(&mut canvas, cert, &labels, &qr);
    let mut y = draw_table_title(&mut canvas, &labels, head_bottom, false);
    y = draw_table_header(&mut canvas, &labels, y);
    let mut floor = FOOTER_Y + 40.0 + verification_block_height() - 16.0;
    let mut zebra = false;
    for row in &rows {
        if y - row.height < floor {
            pages.push(std::mem::replace(&mut canvas, new_canvas()));
            draw_frame(&mut canvas);
            let mut top = PAGE_H - 58.0;
            let who = format!("{} — {}", cert.holder, labels.one(Text::Title));
            canvas.text(MARGIN, top, 8.0, false, GREY, Align::Left, &who);
            top -= 24.0;
            top = draw_table_title(&mut canvas, &labels, top, true);
            y = draw_table_header(&mut canvas, &labels, top);
            floor = FOOTER_Y + 20.0;
            zebra = false;
        }
        draw_row(&mut canvas, row, y, zebra);
        zebra = !zebra;
        y -= row.height;
    }
    pages.push(canvas);
    let total = pages.len();
    Ok(pages
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            draw_footer(&mut c, cert, &labels, i + 1, total);
            c.ops
        })
        .collect())
}

fn pdf_date(unix: i64) -> printpdf::OffsetDateTime {
    printpdf::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or_else(|_| printpdf::OffsetDateTime::from_unix_timestamp(0).expect("epoch"))
}

/// printpdf's document for `cert` with its fonts and metadata, and no pages yet.
fn new_document(cert: &Certificate) -> Result<(PdfDocument, FontId, FontId), Error> {
    let fonts = fonts()?;
    let title = format!("{} — {}", cert.lang.text(Text::Title), cert.holder);
    let mut doc = PdfDocument::new(&title);
    let regular = doc.add_font(&fonts.regular);
    let bold = doc.add_font(&fonts.bold);
    let info = &mut doc.metadata.info;
    info.document_title = title;
    info.author = cert.issuer_name.clone();
    info.creator = "Sagat issuer".into();
    info.producer = format!("sagat-issuer {} (printpdf)", env!("CARGO_PKG_VERSION"));
    info.subject = cert.lang.text(Text::Title).into();
    info.identifier = cert.credential_id.clone();
    info.keywords = vec![
        "Sagat".into(),
        "volunteer".into(),
        cert.credential_id.clone(),
    ];
    info.creation_date = pdf_date(cert.issued_at);
    info.modification_date = pdf_date(cert.issued_at);
    info.metadata_date = pdf_date(cert.issued_at);
    Ok((doc, regular, bold))
}

fn a4_page(ops: Vec<Op>) -> PdfPage {
    PdfPage::new(Mm(210.0), Mm(297.0), ops)
}

/// printpdf's document for `cert` with the page ops, as printpdf alone would save it.
fn printpdf_document(cert: &Certificate) -> Result<PdfDocument, Error> {
    let (mut doc, regular, bold) = new_document(cert)?;
    let pages = build_pages(cert, fonts()?, &regular, &bold)?
        .into_iter()
        .map(a4_page)
        .collect();
    doc.with_pages(pages);
    Ok(doc)
}

fn save_options() -> PdfSaveOptions {
    PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    }
}

/// Renders `cert` as a PDF: A4 pages, fonts embedded and subset, the QR text in the info
/// dictionary (`/SagatQR`) and the evidence attached as `sagat-evidence.cbor`.
///
/// # Errors
/// [`Error::Qr`] if the QR text does not fit a QR code; [`Error::Pdf`] if serialization fails.
pub fn render_certificate(cert: &Certificate) -> Result<Vec<u8>, Error> {
    let (mut doc, regular, bold) = new_document(cert)?;
    let pages = build_pages(cert, fonts()?, &regular, &bold)?;
    // printpdf serializes only a sample page: every character each face shows, once. That is
    // what it needs to subset the faces and write their widths and ToUnicode maps; the page
    // content itself is written by `content::write_page` (see the `content` module for why).
    let used = content::used_chars(&pages, &[&regular, &bold]);
    let mut sample = vec![content::sample_ops(&used)];
    sample.resize_with(pages.len(), Vec::new);
    doc.with_pages(sample.into_iter().map(a4_page).collect());
    let mut warnings = Vec::new();
    let mut lo = printpdf::serialize::to_lopdf_doc(&doc, &save_options(), &mut warnings);
    let page_ids: Vec<lopdf::ObjectId> = lo.get_pages().into_values().collect();
    if page_ids.len() != pages.len() {
        return Err(Error::Pdf(format!(
            "printpdf wrote {} pages for {}",
            page_ids.len(),
            pages.len()
        )));
    }
    let codes = content::glyph_codes(&page_contents(&mut lo, page_ids[0])?.content, used)?;
    for (page_id, ops) in page_ids.into_iter().zip(&pages) {
        let bytes = content::write_page(ops, &codes)?;
        page_contents(&mut lo, page_id)?.set_content(bytes);
    }
    attach(&mut lo, cert)?;
    compress_streams(&mut lo);
    let mut out = Vec::with_capacity(64 * 1024);
    lo.save_to(&mut out)
        .map_err(|e| Error::Pdf(format!("writing the PDF: {e}")))?;
    Ok(out)
}

/// The content stream of the page `page` printpdf wrote.
fn page_contents(
    lo: &mut lopdf::Document,
    page: lopdf::ObjectId,
) -> Result<&mut lopdf::Stream, Error> {
    let id = lo
        .get_dictionary(page)
        .and_then(|d| d.get(b"Contents"))
        .and_then(lopdf::Object::as_reference)
        .map_err(|e| Error::Pdf(format!("printpdf wrote a page without contents: {e}")))?;
    lo.get_object_mut(id)
        .and_then(lopdf::Object::as_stream_mut)
        .map_err(|e| Error::Pdf(format!("page contents: {e}")))
}

/// zlib level for the PDF's streams. lopdf's `Document::compress` (what printpdf's `save` runs)
/// always uses level 9, which callgrind shows is about half of all instructions of a render;
/// level 6 (zlib's default) costs a fraction of that and the file grows by under 1% (see
/// docs/benchmarks.md, "Issuer").
const STREAM_COMPRESSION: u32 = 1;

/// Deflates every stream that is not yet filtered and allows compression, like lopdf's
/// `Document::compress` but at [`STREAM_COMPRESSION`]; a stream that would not shrink is kept as
/// it is.
fn compress_streams(doc: &mut lopdf::Document) {
    // One compressor for all streams, reset in between: setting one up (allocating and zeroing
    // its hash tables) cost about as much as deflating a small stream.
    let mut deflate = flate2::Compress::new(flate2::Compression::new(STREAM_COMPRESSION), true);
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        deflate.reset();
        // Room for incompressible input plus deflate's block overhead, so one call finishes.
        let mut compressed =
            Vec::with_capacity(stream.content.len() + stream.content.len() / 8 + 64);
        let done = deflate.compress_vec(
            &stream.content,
            &mut compressed,
            flate2::FlushCompress::Finish,
        );
        if matches!(done, Ok(flate2::Status::StreamEnd))
            && compressed.len() + 19 < stream.content.len()
        {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(compressed);
        }
    }
}

/// The same pages rendered by printpdf alone (no attachment, no info key): the baseline the
/// benchmark compares [`render_certificate`] with.
#[doc(hidden)]
pub fn render_certificate_bare(cert: &Certificate) -> Result<Vec<u8>, Error> {
    let doc = printpdf_document(cert)?;
    Ok(doc.save(&save_options(), &mut Vec::new()))
}

fn pdf_string(text: &str) -> lopdf::Object {
    lopdf::Object::String(text.as_bytes().to_vec(), lopdf::StringFormat::Literal)
}

/// Adds the evidence attachment and the `/SagatQR` info key to printpdf's document.
fn attach(doc: &mut lopdf::Document, cert: &Certificate) -> Result<(), Error> {
    use lopdf::{dictionary, Object, Stream};

    let mod_date = format!(
        "D:{}Z",
        time::OffsetDateTime::from_unix_timestamp(cert.issued_at)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year][month][day][hour][minute][second]"
                ))
                .ok()
            })
            .unwrap_or_else(|| "19700101000000".into())
    );
    let file = Stream::new(
        dictionary! {
            "Type" => "EmbeddedFile",
            "Subtype" => Object::Name(b"application/cbor".to_vec()),
            "Params" => dictionary! {
                "Size" => cert.evidence.len() as i64,
                "ModDate" => pdf_string(&mod_date),
            },
        },
        cert.evidence.clone(),
    );
    let file_id = doc.add_object(file);
    let spec_id = doc.add_object(dictionary! {
        "Type" => "Filespec",
        "F" => pdf_string(EVIDENCE_FILE_NAME),
        "UF" => pdf_string(EVIDENCE_FILE_NAME),
        "Desc" => pdf_string("Sagat evidence bundle: signed log entries, checkpoint, inclusion proofs"),
        "AFRelationship" => "Data",
        "EF" => dictionary! { "F" => file_id, "UF" => file_id },
    });

    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| Error::Pdf(format!("printpdf wrote no catalog: {e}")))?;
    let catalog = doc
        .get_object_mut(root_id)
        .and_then(Object::as_dict_mut)
        .map_err(|e| Error::Pdf(format!("catalog: {e}")))?;
    catalog.set(
        "Names",
        dictionary! {
            "EmbeddedFiles" => dictionary! {
                "Names" => vec![pdf_string(EVIDENCE_FILE_NAME), Object::Reference(spec_id)],
            },
        },
    );
    catalog.set("AF", vec![Object::Reference(spec_id)]);

    let info_id = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .map_err(|e| Error::Pdf(format!("printpdf wrote no info dictionary: {e}")))?;
    let info = doc
        .get_object_mut(info_id)
        .and_then(Object::as_dict_mut)
        .map_err(|e| Error::Pdf(format!("info dictionary: {e}")))?;
    info.set(PDF_QR_INFO_KEY, pdf_string(&cert.qr_text));
    // printpdf writes a PDF/X version key for its default "custom" conformance; the
    // certificate claims no PDF/X conformance.
    info.remove(b"GTS_PDFXVersion");
    Ok(())
}
