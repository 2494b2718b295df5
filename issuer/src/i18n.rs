//! Every text the certificate prints, in Kazakh, Russian and English: one table.
//!
//! Why one table: a translator (or a reviewer checking that the Kazakh certificate says the same
//! as the English one) reads [`row`] and nothing else. Code never spells a user-visible word; it
//! asks for a [`Text`] key in a [`Lang`]. Templates use `{name}` placeholders filled by
//! [`Lang::fill`], so word order stays the translator's choice (Kazakh puts the year first).

use std::fmt;
use std::str::FromStr;

use sagat_verifier::Category;

use crate::Error;

/// A certificate language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Kazakh (`kk`).
    Kk,
    /// Russian (`ru`).
    Ru,
    /// English (`en`).
    En,
}

impl Lang {
    /// Every language, in table column order.
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The ISO 639-1 code: `"kk"`, `"ru"` or `"en"` (as `Names::get` expects).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Parses `kk`, `ru` or `en` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::UnknownLanguage`] for anything else.
    pub fn parse(code: &str) -> Result<Lang, Error> {
        match code.trim().to_ascii_lowercase().as_str() {
            "kk" => Ok(Lang::Kk),
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            _ => Err(Error::UnknownLanguage(code.to_string())),
        }
    }

    /// The text for `key` in this language.
    pub fn text(self, key: Text) -> &'static str {
        row(key)[self.column()]
    }

    /// The template for `key` with each `{name}` replaced by its value.
    pub fn fill(self, key: Text, values: &[(&str, &str)]) -> String {
        let mut out = self.text(key).to_string();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// The display name of a category.
    pub fn category(self, category: Category) -> &'static str {
        self.text(match category {
            Category::Social => Text::CategorySocial,
            Category::Ecological => Text::CategoryEcological,
            Category::Medical => Text::CategoryMedical,
            Category::AnimalWelfare => Text::CategoryAnimalWelfare,
            Category::Education => Text::CategoryEducation,
            Category::Media => Text::CategoryMedia,
            Category::EmergencyRelief => Text::CategoryEmergencyRelief,
            Category::Events => Text::CategoryEvents,
            Category::Other => Text::CategoryOther,
        })
    }

    /// A duration, exact to the minute: `42 h 30 min`, `42 ч 30 мин`, `42 сағ 30 мин`.
    pub fn duration(self, minutes: u64) -> String {
        let (h, m) = (minutes / 60, minutes % 60);
        let key = match (h, m) {
            (_, 0) => Text::DurationHours,
            (0, _) => Text::DurationMinutes,
            _ => Text::DurationHoursMinutes,
        };
        self.fill(key, &[("h", &h.to_string()), ("m", &m.to_string())])
    }

    /// A calendar date written out (`22 November 2026`, `22 ноября 2026 г.`,
    /// `2026 жылғы 22 қараша`). `date` is `YYYY-MM-DD`; anything else is returned unchanged.
    pub fn long_date(self, date: &str) -> String {
        let Some((y, m, d)) = split_date(date) else {
            return date.to_string();
        };
        let month = self.text(MONTHS[usize::from(m) - 1]);
        self.fill(
            Text::LongDate,
            &[("y", &y.to_string()), ("m", month), ("d", &d.to_string())],
        )
    }

    /// A short numeric date: `22.11.2026` in Kazakh and Russian, `2026-11-22` (ISO 8601) in
    /// English, where day-month order is ambiguous between British and American readers.
    pub fn short_date(self, date: &str) -> String {
        match (self, split_date(date)) {
            (Lang::En, _) | (_, None) => date.to_string(),
            (_, Some((y, m, d))) => format!("{d:02}.{m:02}.{y:04}"),
        }
    }

    fn column(self) -> usize {
        match self {
            Lang::Kk => 0,
            Lang::Ru => 1,
            Lang::En => 2,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = Error;
    fn from_str(s: &str) -> Result<Lang, Error> {
        Lang::parse(s)
    }
}

fn split_date(date: &str) -> Option<(u16, u8, u8)> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = date[0..4].parse().ok()?;
    let m: u8 = date[5..7].parse().ok()?;
    let d: u8 = date[8..10].parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// A key into the translation table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Text {
    /// Document title (also the PDF metadata title).
    Title,
    /// Line above the holder's name.
    Certifies,
    /// Total-hours label.
    TotalHours,
    /// Period label.
    Period,
    /// Template `{from} – {to}`.
    PeriodRange,
    /// Number-of-organizations label.
    Organizations,
    /// Number-of-attestations label.
    Attestations,
    /// Table heading.
    ActivitiesHeading,
    /// Table heading on continuation pages.
    ActivitiesContinued,
    /// Column: date.
    ColumnDate,
    /// Column: organization.
    ColumnOrganization,
    /// Column: activity.
    ColumnActivity,
    /// Column: category.
    ColumnCategory,
    /// Column: hours.
    ColumnHours,
    /// Table footer: total.
    TableTotal,
    /// Activity cell when hours were attested without an activity.
    NoActivity,
    /// Marks a row whose date or minutes the organization corrected.
    Corrected,
    /// Credential id label.
    CredentialId,
    /// Issue date label.
    IssueDate,
    /// Issuer label.
    IssuedBy,
    /// Template `Ed25519, key {kid}`: signature line.
    SignedWith,
    /// Template `checkpoint {size}`: what the credential was issued against.
    LogCheckpoint,
    /// One line: how to verify.
    HowToVerify,
    /// How to verify, with the operator's verify address `{url}`.
    HowToVerifyAt,
    /// One line: the evidence attachment.
    EvidenceAttached,
    /// Template `Page {n} of {total}`.
    PageOf,
    /// Template `{h} h`.
    DurationHours,
    /// Template `{m} min`.
    DurationMinutes,
    /// Template `{h} h {m} min`.
    DurationHoursMinutes,
    /// Template for a written-out date: `{d} {m} {y}`.
    LongDate,
    /// Category `social`.
    CategorySocial,
    /// Category `ecological`.
    CategoryEcological,
    /// Category `medical`.
    CategoryMedical,
    /// Category `animal_welfare`.
    CategoryAnimalWelfare,
    /// Category `education`.
    CategoryEducation,
    /// Category `media`.
    CategoryMedia,
    /// Category `emergency_relief`.
    CategoryEmergencyRelief,
    /// Category `events`.
    CategoryEvents,
    /// Category `other`.
    CategoryOther,
    /// January (in the form a written-out date uses).
    Month01,
    /// February.
    Month02,
    /// March.
    Month03,
    /// April.
    Month04,
    /// May.
    Month05,
    /// June.
    Month06,
    /// July.
    Month07,
    /// August.
    Month08,
    /// September.
    Month09,
    /// October.
    Month10,
    /// November.
    Month11,
    /// December.
    Month12,
}

const MONTHS: [Text; 12] = [
    Text::Month01,
    Text::Month02,
    Text::Month03,
    Text::Month04,
    Text::Month05,
    Text::Month06,
    Text::Month07,
    Text::Month08,
    Text::Month09,
    Text::Month10,
    Text::Month11,
    Text::Month12,
];

/// The translation table: `[Kazakh, Russian, English]` for every key.
fn row(key: Text) -> [&'static str; 3] {
    use Text::*;
    match key {
        Title => [
            "Волонтерлік қызмет туралы сертификат",
            "Сертификат о волонтёрской деятельности",
            "Certificate of Volunteer Service",
        ],
        Certifies => [
            "Осы сертификат мына адамның волонтерлік қызметін растайды:",
            "Настоящий сертификат подтверждает волонтёрскую деятельность",
            "This certifies the volunteer service of",
        ],
        TotalHours => ["Жалпы уақыты", "Всего часов", "Total hours"],
        Period => ["Кезең", "Период", "Period"],
        PeriodRange => ["{from} – {to}", "{from} – {to}", "{from} – {to}"],
        Organizations => ["Ұйымдар", "Организации", "Organizations"],
        Attestations => ["Растаулар", "Подтверждения", "Attestations"],
        ActivitiesHeading => [
            "Расталған волонтерлік жұмыс",
            "Подтверждённая волонтёрская работа",
            "Attested volunteer work",
        ],
        ActivitiesContinued => [
            "Расталған волонтерлік жұмыс (жалғасы)",
            "Подтверждённая волонтёрская работа (продолжение)",
            "Attested volunteer work (continued)",
        ],
        ColumnDate => ["Күні", "Дата", "Date"],
        ColumnOrganization => ["Ұйым", "Организация", "Organization"],
        ColumnActivity => ["Іс-шара", "Мероприятие", "Activity"],
        ColumnCategory => ["Санат", "Категория", "Category"],
        ColumnHours => ["Сағат", "Часы", "Hours"],
        TableTotal => ["Барлығы", "Итого", "Total"],
        NoActivity => ["—", "—", "—"],
        Corrected => ["түзетілген", "исправлено", "corrected"],
        CredentialId => ["Сертификат нөмірі", "Номер сертификата", "Credential ID"],
        IssueDate => ["Берілген күні", "Дата выдачи", "Date of issue"],
        IssuedBy => ["Берген", "Выдал", "Issued by"],
        SignedWith => [
            "Ed25519 электрондық қолтаңбасы, кілт {kid}",
            "Электронная подпись Ed25519, ключ {kid}",
            "Ed25519 digital signature, key {kid}",
        ],
        LogCheckpoint => [
            "Журнал: {size} жазба, түбір {root}",
            "Журнал: {size} записей, корень {root}",
            "Log: {size} entries, root {root}",
        ],
        HowToVerify => [
            "Тексеру: QR-кодты sagat-verify бағдарламасымен оқыңыз — қолтаңба желісіз тексеріледі.",
            "Проверка: считайте QR-код программой sagat-verify — подпись проверяется без сети.",
            "To verify: scan the QR code with sagat-verify — the signature is checked offline.",
        ],
        HowToVerifyAt => [
            "Тексеру: телефон камерасын QR-кодқа бағыттаңыз немесе {url} ашыңыз.",
            "Проверка: наведите камеру телефона на QR-код или откройте {url}.",
            "To verify: point your phone camera at the QR code, or open {url}.",
        ],
        EvidenceAttached => [
            "Дәлелдер (қол қойылған жазбалар мен дәлелдемелер) осы PDF-ке sagat-evidence.cbor файлы ретінде тіркелген.",
            "Доказательства (подписанные записи и доказательства включения) приложены к этому PDF: sagat-evidence.cbor.",
            "Evidence (signed log entries and inclusion proofs) is attached to this PDF as sagat-evidence.cbor.",
        ],
        PageOf => [
            "{n}-бет, барлығы {total}",
            "Страница {n} из {total}",
            "Page {n} of {total}",
        ],
        DurationHours => ["{h} сағ", "{h} ч", "{h} h"],
        DurationMinutes => ["{m} мин", "{m} мин", "{m} min"],
        DurationHoursMinutes => ["{h} сағ {m} мин", "{h} ч {m} мин", "{h} h {m} min"],
        LongDate => ["{y} жылғы {d} {m}", "{d} {m} {y} г.", "{d} {m} {y}"],
        CategorySocial => ["Әлеуметтік көмек", "Социальная помощь", "Social help"],
        CategoryEcological => ["Экология", "Экология", "Ecology"],
        CategoryMedical => ["Медициналық көмек", "Медицинская помощь", "Medical help"],
        CategoryAnimalWelfare => ["Жануарларды қорғау", "Защита животных", "Animal welfare"],
        CategoryEducation => ["Білім беру", "Образование", "Education"],
        CategoryMedia => ["Медиа", "Медиа", "Media"],
        CategoryEmergencyRelief => ["Төтенше жағдайлар", "Помощь при ЧС", "Emergency relief"],
        CategoryEvents => ["Іс-шаралар", "Мероприятия", "Events"],
        CategoryOther => ["Басқа", "Другое", "Other"],
        Month01 => ["қаңтар", "января", "January"],
        Month02 => ["ақпан", "февраля", "February"],
        Month03 => ["наурыз", "марта", "March"],
        Month04 => ["сәуір", "апреля", "April"],
        Month05 => ["мамыр", "мая", "May"],
        Month06 => ["маусым", "июня", "June"],
        Month07 => ["шілде", "июля", "July"],
        Month08 => ["тамыз", "августа", "August"],
        Month09 => ["қыркүйек", "сентября", "September"],
        Month10 => ["қазан", "октября", "October"],
        Month11 => ["қараша", "ноября", "November"],
        Month12 => ["желтоқсан", "декабря", "December"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_follow_each_language() {
        assert_eq!(Lang::Kk.long_date("2026-11-22"), "2026 жылғы 22 қараша");
        assert_eq!(Lang::Ru.long_date("2026-03-01"), "1 марта 2026 г.");
        assert_eq!(Lang::En.long_date("2026-03-01"), "1 March 2026");
        assert_eq!(Lang::Ru.short_date("2026-03-01"), "01.03.2026");
        assert_eq!(Lang::En.short_date("2026-03-01"), "2026-03-01");
        assert_eq!(Lang::En.long_date("not a date"), "not a date");
        assert_eq!(Lang::En.duration(150), "2 h 30 min");
        assert_eq!(Lang::Kk.duration(120), "2 сағ");
        assert_eq!(Lang::Ru.duration(45), "45 мин");
    }

    #[test]
    fn language_codes_round_trip_and_unknown_ones_are_named() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()).unwrap(), lang);
        }
        let err = Lang::parse("de").unwrap_err();
        assert!(err.to_string().contains("\"de\""), "{err}");
    }
}
