//! Every human-readable text of `sagat-verify`, in Kazakh, Russian and English: one table.

/// Output language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Қазақша.
    Kk,
    /// Русский.
    Ru,
    /// English.
    En,
}

/// A text key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum T {
    Valid,
    Invalid,
    Revoked,
    UntrustedIssuer,
    NotYetValid,
    Expired,
    Holder,
    TotalHours,
    Organizations,
    MoreOrganizations,
    Period,
    Issuer,
    IssueDate,
    ValidUntil,
    CredentialId,
    Revocation,
    RevocationChecked,
    RevocationNotChecked,
    RevocationNotCovered,
    Evidence,
    EvidenceOk,
    EvidenceNotChecked,
    Hours,
    Minutes,
    Days,
    UntrustedHint,
    EvidenceNotCheckedVerdict,
    EvidenceNoKey,
    EvidenceMissing,
    EvidenceUnreadable,
    RevocationExpired,
    StatusList,
    StatusListIssued,
    StatusListFuture,
    StatusListUntil,
}

/// (key, kk, ru, en)
const TABLE: &[(T, &str, &str, &str)] = &[
    (T::Valid, "ЖАРАМДЫ", "ДЕЙСТВИТЕЛЕН", "VALID"),
    (T::Invalid, "ЖАРАМСЫЗ", "НЕДЕЙСТВИТЕЛЕН", "INVALID"),
    (T::Revoked, "КЕРІ ШАҚЫРЫЛҒАН", "ОТОЗВАН", "REVOKED"),
    (T::UntrustedIssuer, "СЕНІМСІЗ БЕРУШІ", "НЕДОВЕРЕННЫЙ ИЗДАТЕЛЬ", "UNTRUSTED ISSUER"),
    (T::NotYetValid, "ӘЛІ ЖАРАМДЫ ЕМЕС", "ЕЩЁ НЕ ДЕЙСТВУЕТ", "NOT YET VALID"),
    (T::Expired, "МЕРЗІМІ ӨТКЕН", "СРОК ИСТЁК", "EXPIRED"),
    (T::Holder, "Иесі", "Владелец", "Holder"),
    (T::TotalHours, "Барлық сағат", "Всего часов", "Total hours"),
    (T::Organizations, "Ұйымдар", "Организации", "Organizations"),
    (T::MoreOrganizations, "тағы {n} ұйым", "ещё организаций: {n}", "{n} more organizations"),
    (T::Period, "Кезең", "Период", "Period"),
    (T::Issuer, "Берген", "Издатель", "Issuer"),
    (T::IssueDate, "Берілген күні", "Дата выдачи", "Issue date"),
    (T::ValidUntil, "Жарамдылық мерзімі", "Действителен до", "Valid until"),
    (T::CredentialId, "Куәлік нөмірі", "Номер удостоверения", "Credential id"),
    (T::Revocation, "Кері шақыру", "Отзыв", "Revocation"),
    (
        T::RevocationChecked,
        "{date} күнгі тізім бойынша тексерілді",
        "проверен по списку от {date}",
        "checked against the status list of {date}",
    ),
    (
        T::RevocationNotChecked,
        "ТЕКСЕРІЛМЕДІ (--status берілмеген)",
        "НЕ ПРОВЕРЕН (нет --status)",
        "NOT CHECKED (no --status given)",
    ),
    (T::RevocationNotCovered, "тексеру мүмкін емес", "проверка невозможна", "could not be checked"),
    (T::Evidence, "Дәлелдер", "Доказательства", "Evidence"),
    (
        T::EvidenceOk,
        "{n} жазба тексерілді, журнал өлшемі {size}",
        "проверено записей: {n}, размер журнала {size}",
        "attestations traced to their organizations' signatures: {n} (log size {size})",
    ),
    (
        T::EvidenceNotChecked,
        "тексерілмеді (тек PDF бойынша)",
        "не проверены (только из PDF)",
        "not checked (only from a PDF)",
    ),
    (
        T::EvidenceNotCheckedVerdict,
        "ДӘЛЕЛДЕР ТЕКСЕРІЛМЕДІ",
        "ДОКАЗАТЕЛЬСТВА НЕ ПРОВЕРЕНЫ",
        "EVIDENCE NOT CHECKED",
    ),
    (T::EvidenceNoKey, "оператор кілті жоқ", "нет ключа оператора", "no operator key"),
    (
        T::EvidenceMissing,
        "PDF-те {file} тіркемесі жоқ",
        "в PDF нет вложения {file}",
        "the PDF has no {file} attachment",
    ),
    (
        T::EvidenceUnreadable,
        "PDF-тегі {file} тіркемесін оқу мүмкін емес",
        "вложение {file} в PDF не читается",
        "the PDF's {file} attachment cannot be read",
    ),
    (
        T::RevocationExpired,
        "МЕРЗІМІ ӨТКЕН: {date} күнгі тізім {exp} дейін жарамды болды, жаңасын алыңыз",
        "СРОК ИСТЁК: список от {date} действовал до {exp}, возьмите свежий",
        "EXPIRED: the status list of {date} was valid until {exp}; get a fresh one",
    ),
    (T::StatusList, "Кері шақыру тізімі", "Список отзыва", "Status list"),
    (
        T::StatusListIssued,
        "{date} жасалған, {age} бұрын",
        "выпущен {date}, {age} назад",
        "issued {date}, {age} ago",
    ),
    (
        T::StatusListFuture,
        "{date} жасалған (тексеру уақытынан кейін)",
        "выпущен {date} (позже времени проверки)",
        "issued {date} (after the time of the check)",
    ),
    (T::StatusListUntil, "{date} дейін жарамды", "действует до {date}", "valid until {date}"),
    (T::Hours, "сағ", "ч", "h"),
    (T::Days, "күн", "дн", "d"),
    (T::Minutes, "мин", "мин", "min"),
    (
        T::UntrustedHint,
        "Бұл кілтке сенім берілмеген: операторға қол қойылған сенім тізімін --trust және --root арқылы беріңіз.",
        "Этот ключ не в списке доверия: укажите подписанный список --trust и ключ оператора --root.",
        "This key is not trusted: give the operator-signed trust list with --trust and the operator key with --root.",
    ),
];

/// Activity categories by wire name (docs/formats.md), as the certificate names them.
const CATEGORIES: [(&str, &str, &str, &str); 9] = [
    (
        "social",
        "Әлеуметтік көмек",
        "Социальная помощь",
        "Social help",
    ),
    ("ecological", "Экология", "Экология", "Ecology"),
    (
        "medical",
        "Медициналық көмек",
        "Медицинская помощь",
        "Medical help",
    ),
    (
        "animal_welfare",
        "Жануарларды қорғау",
        "Защита животных",
        "Animal welfare",
    ),
    ("education", "Білім беру", "Образование", "Education"),
    ("media", "Медиа", "Медиа", "Media"),
    (
        "emergency_relief",
        "Төтенше жағдайлар",
        "Помощь при ЧС",
        "Emergency relief",
    ),
    ("events", "Іс-шаралар", "Мероприятия", "Events"),
    ("other", "Басқа", "Другое", "Other"),
];

/// A category's name in `lang`; a name this table does not know is shown as it came.
pub fn category(lang: Lang, wire: &str) -> &str {
    match CATEGORIES.iter().find(|c| c.0 == wire) {
        Some(c) => match lang {
            Lang::Kk => c.1,
            Lang::Ru => c.2,
            Lang::En => c.3,
        },
        None => wire,
    }
}

/// The text of `key` in `lang`.
pub fn t(lang: Lang, key: T) -> &'static str {
    let row = TABLE
        .iter()
        .find(|r| r.0 == key)
        .expect("every key has a row in the table");
    match lang {
        Lang::Kk => row.1,
        Lang::Ru => row.2,
        Lang::En => row.3,
    }
}

/// Minutes as "12 h 30 min" in `lang`.
pub fn hours(lang: Lang, minutes: u64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    if m == 0 {
        format!("{h} {}", t(lang, T::Hours))
    } else {
        format!("{h} {} {m} {}", t(lang, T::Hours), t(lang, T::Minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_of_the_format_has_a_name_in_each_language() {
        for c in sagat_verifier::Category::ALL {
            for lang in [Lang::Kk, Lang::Ru, Lang::En] {
                assert_ne!(category(lang, c.as_str()), c.as_str(), "{c:?} in {lang:?}");
            }
        }
        assert_eq!(category(Lang::Kk, "ecological"), "Экология");
        assert_eq!(category(Lang::En, "future_category"), "future_category");
    }
}
