//! The web pages' one translation table (kk / ru / en). Every user-visible string of the pages
//! comes from here, so a translator edits one file.

/// A supported page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Kazakh.
    Kk,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Lang {
    /// Every language, in switcher order.
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// Parses `kk`, `ru`, `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "kk" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The same language for the verifier's texts (the verdict words are `sagat-verify`'s).
    pub fn verifier(self) -> sagat_verify::Lang {
        match self {
            Lang::Kk => sagat_verify::Lang::Kk,
            Lang::Ru => sagat_verify::Lang::Ru,
            Lang::En => sagat_verify::Lang::En,
        }
    }

    /// The same language for the certificate's texts (categories, durations): one wording
    /// for a concept on the pages and in the PDF.
    pub fn issuer(self) -> sagat_issuer::Lang {
        match self {
            Lang::Kk => sagat_issuer::Lang::Kk,
            Lang::Ru => sagat_issuer::Lang::Ru,
            Lang::En => sagat_issuer::Lang::En,
        }
    }

    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The name in its own language (for the switcher).
    pub fn endonym(self) -> &'static str {
        match self {
            Lang::Kk => "Қазақша",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }
}

/// (key, kk, ru, en).
const TABLE: &[(&str, &str, &str, &str)] = &[
    ("app", "Сағат — волонтерлік сағаттар", "Сағат — волонтёрские часы", "Sagat — volunteer hours"),
    ("tagline", "Волонтерлік жұмыстың қол қойылған, тексерілетін дәлелі", "Подписанное, проверяемое подтверждение волонтёрской работы", "Signed, verifiable proof of volunteer work"),
    ("verify", "Сертификатты тексеру", "Проверить сертификат", "Verify a certificate"),
    ("verify_help", "Телефон камерасын сертификаттағы QR-кодқа бағыттаңыз — осы бет ашылып, тексеру құрылғыңызда жүреді. Немесе мұнда камерамен сканерлеңіз, QR фотосын не сертификаттың PDF-ін таңдаңыз, не QR мәтінін (VH1:… не сілтеме) қойыңыз.", "Наведите камеру телефона на QR-код сертификата — откроется эта страница, и проверка пройдёт на вашем устройстве. Или сканируйте здесь камерой, выберите фото QR-кода или PDF сертификата, или вставьте текст QR-кода (VH1:… или ссылку).", "Point your phone camera at the certificate's QR code: this page opens and checks it on your device. Or scan it here with the camera, choose a photo of the QR code or the certificate PDF, or paste the QR code's text (VH1:… or the link)."),
    ("qr_text", "QR мәтіні (VH1:…)", "Текст QR (VH1:…)", "QR text (VH1:…)"),
    ("photo", "QR фотосы", "Фото QR-кода", "Photo of the QR code"),
    ("check", "Тексеру", "Проверить", "Check"),
    ("upload_check", "Фотоны тексеру", "Проверить фото", "Check photo"),
    ("verdict", "Нәтиже", "Результат", "Verdict"),
    (
        "why_unreadable",
        "Мәтін толық емес немесе қате көшірілген: бұл Сағат сертификатының коды емес.",
        "Текст неполный или скопирован с ошибкой: это не код сертификата Сағат.",
        "The text is incomplete or mistyped: it is not a Sagat certificate code.",
    ),
    (
        "why_malformed",
        "Код оқылды, бірақ ішіндегі сертификат бүлінген немесе пішімі дұрыс емес.",
        "Код прочитан, но сертификат внутри повреждён или имеет неверный формат.",
        "The code was read, but the certificate inside is damaged or in the wrong format.",
    ),
    (
        "why_forged",
        "Сертификат өзгертілген немесе жалған: қолтаңбасы не деректері сәйкес келмейді.",
        "Сертификат изменён или подделан: подпись или данные не сходятся.",
        "The certificate was changed or forged: its signature or its data do not match.",
    ),
    (
        "why_untrusted",
        "Сертификатты бұл сервер сенетін беруші бермеген.",
        "Сертификат выдан издателем, которому этот сервер не доверяет.",
        "The certificate was not issued by an issuer this server trusts.",
    ),
    (
        "why_not_yet",
        "Сертификаттың жарамдылық мерзімі әлі басталған жоқ.",
        "Срок действия сертификата ещё не начался.",
        "The certificate is not valid yet: its validity has not started.",
    ),
    (
        "why_revoked",
        "Беруші бұл сертификатты кері қайтарып алды: оған енді сенуге болмайды.",
        "Издатель отозвал этот сертификат: ему больше нельзя доверять.",
        "The issuer has revoked this certificate: it can no longer be relied on.",
    ),
    (
        "why_expired",
        "Сертификаттың жарамдылық мерзімі өтіп кеткен.",
        "Срок действия сертификата истёк.",
        "The certificate has expired.",
    ),
    ("holder", "Иесі", "Владелец", "Holder"),
    ("period", "Кезең", "Период", "Period"),
    ("issued_on", "Берілген күні", "Дата выдачи", "Issued on"),
    ("checks", "Тексерулер", "Проверки", "Checks"),
    ("check_readable", "Код оқылды", "Код прочитан", "The code reads"),
    ("check_issuer", "Беруші оператордың сенім тізімінде", "Издатель в списке доверия оператора", "The issuer is in the operator's trust list"),
    ("check_signature", "Берушінің қолтаңбасы дұрыс", "Подпись издателя верна", "The issuer's signature is right"),
    ("check_consistent", "Сағаттар мен күндер сәйкес", "Часы и даты сходятся", "The hours and dates add up"),
    ("check_revocation", "Кері қайтарылмаған", "Не отозван", "Not revoked"),
    ("check_validity", "Жарамдылық мерзімінде", "В пределах срока действия", "Within its validity dates"),
    ("not_checked", "тексерілмеді", "не проверено", "not checked"),
    (
        "revocation_as_of",
        "Кері қайтару тізімі, күні:",
        "Список отзыва на",
        "Revocation list as of",
    ),
    (
        "checked_here",
        "Осы құрылғыда тексерілді: сертификат еш жерге жіберілген жоқ.",
        "Проверено на этом устройстве: сертификат никуда не отправлялся.",
        "Checked on this device: the certificate was not sent anywhere.",
    ),
    ("camera_start", "Камерамен сканерлеу", "Сканировать камерой", "Scan with the camera"),
    ("camera_stop", "Камераны тоқтату", "Остановить камеру", "Stop the camera"),
    (
        "camera_looking",
        "QR-кодты рамкаға келтіріңіз. Кадрлар осы құрылғыда оқылады, ешқайда жіберілмейді.",
        "Наведите камеру на QR-код. Кадры читаются на этом устройстве и никуда не отправляются.",
        "Hold the QR code in the frame. The frames are read on this device and sent nowhere.",
    ),
    (
        "camera_denied",
        "Камера ашылмады (рұқсат берілмеді не камера жоқ). QR фотосын таңдаңыз немесе мәтінін қойыңыз.",
        "Камера не открылась (нет разрешения или камеры). Выберите фото QR-кода или вставьте его текст.",
        "The camera did not open (no permission, or no camera). Choose a photo of the QR code, or paste its text.",
    ),
    (
        "photo_reading",
        "Фото осы құрылғыда оқылуда…",
        "Фото читается на этом устройстве…",
        "Reading the photo on this device…",
    ),
    (
        "photo_no_qr",
        "Бұл фотодан сертификаттың QR-коды табылмады. QR-кодты жақынырақ, жарық жерде, тұтас түсіріңіз.",
        "На этом фото не найден QR-код сертификата. Снимите QR-код ближе, при хорошем свете, целиком.",
        "No certificate QR code was found in this photo. Take it closer, in good light, with the whole code in view.",
    ),
    (
        "needs_script",
        "Бұл бет сертификатты құрылғыңызда тексереді: ол үшін браузерде JavaScript қосулы болуы керек.",
        "Эта страница проверяет сертификат на вашем устройстве: для этого в браузере должен быть включён JavaScript.",
        "This page checks the certificate on your device: for that, JavaScript must be on in the browser.",
    ),
    (
        "no_verifier",
        "Тексеру құралы жүктелмеді. Бетті интернет бар кезде бір рет ашып, қайталап көріңіз.",
        "Средство проверки не загрузилось. Откройте страницу один раз при подключении к интернету и повторите.",
        "The verifier could not be loaded. Open this page once while online, then try again.",
    ),
    (
        "photo_or_pdf",
        "QR фотосы немесе сертификаттың PDF-і (мұнда сүйреп әкелуге болады)",
        "Фото QR-кода или PDF сертификата (можно перетащить сюда)",
        "Photo of the QR code, or the certificate PDF (you can drop it here)",
    ),
    (
        "check_evidence",
        "Әр есептелген сағат ұйымның қолтаңбасына және журналға дейін тексерілді",
        "Каждый учтённый час прослежен до подписи организации и журнала",
        "Every counted hour traced to its organization's signature and the log",
    ),
    ("evidence_entries", "тексерілген жазба", "проверено записей", "attestations checked"),
    (
        "evidence_missing",
        "PDF-те дәлелдер файлы жоқ: тек QR-код тексерілді.",
        "В PDF нет файла доказательств: проверен только QR-код.",
        "The PDF carries no evidence file: only its QR code was checked.",
    ),
    ("age_minutes", "{n} мин бұрын", "{n} мин назад", "{n} min ago"),
    ("age_hours", "{n} сағ бұрын", "{n} ч назад", "{n} h ago"),
    ("age_days", "{n} күн бұрын", "{n} дн. назад", "{n} days ago"),
    (
        "evidence_entry",
        "Дәлелдердің №{n} журнал жазбасы сертификатты растамайды: PDF өзгертілген не бүлінген.",
        "Запись журнала №{n} в доказательствах не подтверждает сертификат: PDF изменён или повреждён.",
        "Log entry {n} of the evidence does not support the certificate: the PDF was altered or damaged.",
    ),
    ("total", "Барлығы", "Итого", "Total"),
    ("hours_unit", "сағ", "ч", "h"),
    ("issuer", "Беруші", "Выдал", "Issuer"),
    ("credential", "Сертификат", "Сертификат", "Credential"),
    ("signin", "Кіру", "Войти", "Sign in"),
    ("signout", "Шығу", "Выйти", "Sign out"),
    ("signin_org", "Ұйым ретінде кіру", "Вход для организаций", "Organization sign-in"),
    ("signin_vol", "Волонтер ретінде кіру", "Вход для волонтёров", "Volunteer sign-in"),
    ("signin_op", "Оператор ретінде кіру", "Вход для оператора", "Operator sign-in"),
    ("code", "Қол жеткізу коды немесе токен", "Код доступа или токен", "Access code or token"),
    ("show_code", "Кодты көрсету", "Показать код", "Show the code"),
    ("access_code", "Қол жеткізу коды", "Код доступа", "Access code"),
    (
        "code_help",
        "Волонтер коды 16 белгіден тұрады, мысалы 7KQ2-M9XD-4TNB-H3RW (сызықшасыз да, кіші әріппен де жазуға болады). Код жоғалса, сізді тіркеген ұйым жаңасын береді; ескісі сол сәтте жарамсыз болады.",
        "Код волонтёра — 16 знаков, например 7KQ2-M9XD-4TNB-H3RW (можно без дефисов и строчными буквами). Если код потерян, новый выдаст организация, которая вас зарегистрировала; старый сразу перестанет действовать.",
        "A volunteer's code has 16 characters, like 7KQ2-M9XD-4TNB-H3RW (hyphens and capitals are optional). Lost it? The organization that enrolled you gives you a new one; the old one stops working at once.",
    ),
    ("uncategorized", "Санатсыз", "Без категории", "Uncategorized"),
    ("skip", "Негізгі мазмұнға өту", "Перейти к содержанию", "Skip to content"),
    ("overview", "Басты бет", "Главная", "Overview"),
    ("roster", "Волонтерлер", "Волонтёры", "Volunteers"),
    ("volunteer", "Волонтер", "Волонтёр", "Volunteer"),
    ("choose_volunteer", "— волонтерді таңдаңыз —", "— выберите волонтёра —", "— choose a volunteer —"),
    ("name_erased", "(аты өшірілген)", "(имя удалено)", "(name erased)"),
    ("or_volunteer_id", "немесе волонтер ID (тізімде жоқ болса)", "или ID волонтёра (если его нет в списке)", "or a volunteer id (if not in the list)"),
    ("csv_file", "CSV файлы", "Файл CSV", "CSV file"),
    ("search_name", "Аты немесе ID бойынша іздеу", "Поиск по имени или ID", "Search by name or id"),
    ("search", "Іздеу", "Найти", "Search"),
    ("roster_empty", "Әзірге волонтер жоқ: волонтерді тіркеңіз немесе іздеуді өзгертіңіз.", "Пока нет волонтёров: зарегистрируйте волонтёра или измените поиск.", "No volunteers yet: enroll one, or change the search."),
    ("hours_here", "Осы ұйымдағы сағаттар", "Часы в этой организации", "Hours here"),
    ("last_day", "Соңғы күн", "Последний день", "Last day"),
    ("actions", "Әрекеттер", "Действия", "Actions"),
    ("all", "Барлығы", "Все", "All"),
    ("show", "Көрсету", "Показать", "Show"),
    ("found", "Табылды", "Найдено", "Found"),
    ("live_hours", "сағаттары", "часов", "hours"),
    ("export_csv", "Сағаттарды CSV-ке жүктеу (ай, волонтер, іс-шара бойынша)", "Выгрузить часы в CSV (по месяцам, волонтёрам, мероприятиям)", "Export hours as CSV (by month, volunteer, activity)"),
    ("confirm_retract", "Иә, кері қайтару: волонтердің есебінен алынады", "Да, отозвать: будет снято с учёта волонтёра", "Yes, retract: this takes off the volunteer's record"),
    ("pages", "Беттер", "Страницы", "Pages"),
    ("newer", "Жаңалары", "Новее", "Newer"),
    ("older", "Ескілері", "Старше", "Older"),
    ("page", "Бет", "Страница", "Page"),
    ("attested", "Расталды:", "Подтверждено:", "Attested:"),
    ("published", "Іс-шара жарияланды.", "Мероприятие опубликовано.", "Activity published."),
    ("retracted_done", "Растау кері қайтарылды: бұл сағаттар енді есептелмейді.", "Подтверждение отозвано: эти часы больше не учитываются.", "Attestation retracted: these hours no longer count."),
    ("corrected_done", "Растау түзетілді.", "Подтверждение исправлено.", "Attestation corrected."),
    ("old_code_stopped", "Ескі код енді жарамсыз. Жаңа кодты волонтерге беріңіз — ол тек бір рет көрсетіледі.", "Старый код больше не действует. Передайте новый код волонтёру — он показывается один раз.", "The old code no longer works. Give the new one to the volunteer: it is shown only once."),
    ("csv_added", "{n} растау қосылды, барлығы {h}.", "Добавлено подтверждений: {n}, всего {h}.", "{n} attestations added, {h} in all."),
    ("suspended_since", "Ұйымның жұмысы оператормен тоқтатылған, күні:", "Работа организации приостановлена оператором с", "This organization was suspended by the operator on"),
    ("suspended_help", "Тоқтатылған кезде сағаттарды растауға, волонтерлерді тіркеуге және іс-шара жариялауға болмайды. Сұрақтар бойынша операторға хабарласыңыз.", "Пока работа приостановлена, нельзя подтверждать часы, регистрировать волонтёров и публиковать мероприятия. По вопросам обращайтесь к оператору.", "While suspended, it cannot attest hours, enroll volunteers or publish activities. Contact the operator about it."),
    ("my_entries", "Менің растауларым", "Мои подтверждения", "My attestations"),
    ("org", "Ұйым", "Организация", "Organization"),
    ("report_wrong", "Қате ме?", "Ошибка?", "Wrong?"),
    ("report_how", "Күні немесе сағаты қате болса, {org} ұйымына хабарлаңыз және төмендегі нөмірді айтыңыз: тек ұйым ғана растауды түзете алады.", "Если дата или часы неверны, сообщите организации «{org}» и назовите номер ниже: исправить подтверждение может только она.", "If the day or the hours are wrong, tell {org} and quote the number below: only the organization can correct its attestation."),
    ("attestation_no", "Растау нөмірі", "Номер подтверждения", "Attestation number"),
    ("my_certificates", "Менің сертификаттарым", "Мои сертификаты", "My certificates"),
    ("cert_revoked", "КЕРІ ҚАЙТАРЫЛҒАН — бұл сертификат енді жарамсыз", "ОТОЗВАН — этот сертификат больше не действует", "REVOKED — this certificate is no longer valid"),
    ("revoked_on", "Кері қайтарылған күні:", "Отозван", "Revoked on"),
    ("qr_alt", "Сертификаттың QR-коды", "QR-код сертификата", "The certificate's QR code"),
    ("not_found", "Бет табылмады", "Страница не найдена", "Page not found"),
    ("not_found_help", "Мұндай бет жоқ: сілтеме қате немесе ескірген болуы мүмкін.", "Такой страницы нет: ссылка неверна или устарела.", "There is no such page: the link may be wrong or out of date."),
    ("session_ended", "Сессия аяқталды (12 сағаттан кейін немесе шыққаннан соң). Қайта кіріңіз: ештеңе жоғалған жоқ.", "Сеанс завершён (через 12 часов или после выхода). Войдите снова: ничего не потеряно.", "Your session has ended (after 12 hours, or you signed out). Sign in again: nothing was lost."),
    ("status", "Күйі", "Статус", "Status"),
    ("active", "жұмыс істейді", "действует", "active"),
    ("valid", "жарамды", "действителен", "valid"),
    ("revoked", "кері қайтарылған", "отозван", "revoked"),
    ("certificates", "Сертификаттар", "Сертификаты", "Certificates"),
    ("search_cert", "Иесінің аты, волонтер ID немесе сертификат ID", "Имя владельца, ID волонтёра или ID сертификата", "Holder's name, volunteer id or certificate id"),
    ("no_certificates", "Сертификат табылмады.", "Сертификаты не найдены.", "No certificates found."),
    ("confirm_suspend", "Иә, тоқтата тұру: ұйым сағат растай алмайды, оның сессиялары аяқталады", "Да, приостановить: организация не сможет подтверждать часы, её сеансы завершатся", "Yes, suspend: the organization can no longer attest hours, and its sessions end"),
    ("confirm_revoke", "Иә, кері қайтару: бұл сертификат барлық жерде жарамсыз болады, мұны болдырмау мүмкін емес", "Да, отозвать: сертификат станет недействительным везде, отменить это нельзя", "Yes, revoke: the certificate becomes invalid everywhere, and this cannot be undone"),
    ("org_suspended_done", "Ұйымның жұмысы тоқтатылды:", "Работа организации приостановлена:", "Organization suspended:"),
    ("org_reinstated_done", "Ұйымның жұмысы қалпына келтірілді:", "Работа организации восстановлена:", "Organization reinstated:"),
    ("cert_revoked_done", "Сертификат кері қайтарылды:", "Сертификат отозван:", "Certificate revoked:"),
    ("csv_sending", "Файл жіберілуде: {p}%", "Отправка файла: {p}%", "Sending the file: {p}%"),
    ("csv_checking", "Файл жіберілді. Сервер әр жолды тексеруде — үлкен файлға бірнеше секунд кетуі мүмкін…", "Файл отправлен. Сервер проверяет каждую строку — для большого файла это может занять несколько секунд…", "File sent. The server is checking every line — a large file can take a few seconds…"),
    ("csv_failed", "Байланыс үзілді. Қайта жіберіңіз: бір файл екі рет қосылмайды.", "Связь прервалась. Отправьте снова: один и тот же файл не добавится дважды.", "The connection failed. Send it again: the same file is never added twice."),
    ("csv_progress", "CSV жүктеу барысы", "Ход загрузки CSV", "CSV upload progress"),
    ("bad_code", "Код немесе токен белгісіз.", "Неизвестный код или токен.", "Unknown code or token."),
    ("org_dash", "Ұйым", "Организация", "Organization"),
    ("attest", "Сағаттарды растау", "Подтвердить часы", "Attest hours"),
    ("volunteer_id", "Волонтер ID", "ID волонтёра", "Volunteer id"),
    ("date", "Күні", "Дата", "Date"),
    ("hours", "Сағат", "Часы", "Hours"),
    ("activity", "Іс-шара", "Мероприятие", "Activity"),
    ("none", "—", "—", "—"),
    ("role", "Рөлі", "Роль", "Role"),
    ("note", "Ескертпе", "Примечание", "Note"),
    ("save", "Сақтау", "Сохранить", "Save"),
    ("csv_upload", "CSV жүктеу", "Загрузка CSV", "CSV upload"),
    ("csv_help", "Бірінші жол: volunteer,date,hours (қосымша: activity,role,note). Excel файлын CSV ретінде сақтаңыз: «;» бөлгіші, 05.03.2026 күндері және 2,5 сағаттары да оқылады. Файл тек барлық жол дұрыс болса қосылады; қате жолдардың бәрі бірден көрсетіледі.", "Первая строка: volunteer,date,hours (дополнительно: activity,role,note). Сохраните таблицу Excel как CSV: разделитель «;», даты 05.03.2026 и часы 2,5 тоже читаются. Файл добавляется, только если все строки верны; все ошибочные строки показываются сразу.", "First line: volunteer,date,hours (optional: activity,role,note). Save the spreadsheet as CSV: “;” separators, dates like 05.03.2026 and hours like 2,5 are read too. The file is added only if every line is right; every wrong line is shown at once."),
    ("upload", "Жүктеу", "Загрузить", "Upload"),
    ("line", "Жол", "Строка", "Line"),
    ("problem", "Қате", "Ошибка", "Problem"),
    ("enroll", "Волонтерді тіркеу", "Зарегистрировать волонтёра", "Enroll a volunteer"),
    ("name", "Аты-жөні", "Имя", "Name"),
    ("contact", "Байланыс", "Контакт", "Contact"),
    ("enrolled", "Тіркелді. Қол жеткізу кодын волонтерге беріңіз — ол тек бір рет көрсетіледі:", "Зарегистрирован. Передайте код доступа волонтёру — он показывается один раз:", "Enrolled. Give the access code to the volunteer — it is shown only once:"),
    ("new_code", "Жаңа код", "Новый код", "New code"),
    ("publish", "Іс-шара жариялау", "Опубликовать мероприятие", "Publish an activity"),
    ("title", "Атауы", "Название", "Title"),
    ("category", "Санат", "Категория", "Category"),
    ("place", "Орны", "Место", "Place"),
    ("from", "Басталуы", "С", "From"),
    ("to", "Аяқталуы", "По", "To"),
    ("attestations", "Растаулар", "Подтверждения", "Attestations"),
    ("correct", "Түзету", "Исправить", "Correct"),
    ("retract", "Кері қайтару", "Отозвать", "Retract"),
    ("reason", "Себебі", "Причина", "Reason"),
    ("retracted", "қайтарылған", "отозвано", "retracted"),
    ("corrected", "түзетілген", "исправлено", "corrected"),
    ("done", "Дайын.", "Готово.", "Done."),
    ("my_hours", "Менің сағаттарым", "Мои часы", "My hours"),
    ("by_org", "Ұйымдар бойынша", "По организациям", "By organization"),
    ("by_category", "Санаттар бойынша", "По категориям", "By category"),
    ("by_year", "Жылдар бойынша", "По годам", "By year"),
    ("certificate", "Сертификат алу", "Получить сертификат", "Get a certificate"),
    ("language", "Тілі", "Язык", "Language"),
    ("second_language", "Екінші тіл", "Второй язык", "Second language"),
    ("issue", "Шығару", "Выпустить", "Issue"),
    ("download_pdf", "PDF жүктеп алу", "Скачать PDF", "Download PDF"),
    ("cert_ready", "Сертификат дайын.", "Сертификат готов.", "Your certificate is ready."),
    ("operator", "Оператор", "Оператор", "Operator"),
    ("register_org", "Ұйымды тіркеу", "Зарегистрировать организацию", "Register an organization"),
    ("org_id", "Ұйым ID", "ID организации", "Organization id"),
    ("region", "Өңір", "Регион", "Region"),
    ("public_key_opt", "Ашық кілт (бос болса — кілтті сервер сақтайды)", "Открытый ключ (пусто — ключ хранит сервер)", "Public key (empty: the server holds the key)"),
    ("mint_token", "Ұйым токенін шығару", "Выпустить токен организации", "Mint an organization token"),
    ("token_once", "Токен (тек бір рет көрсетіледі):", "Токен (показывается один раз):", "Token (shown once):"),
    ("suspend", "Тоқтата тұру", "Приостановить", "Suspend"),
    ("org_name", "Атауы", "Название", "Name"),
    ("rename_org", "Ұйымның атауын өзгерту", "Переименовать организацию", "Rename an organization"),
    (
        "rename_hint",
        "Жаңа атаулар жаңа сертификаттарда шығады; бұрын берілген сертификаттар өз атауын сақтайды. Бос өріс өзгермейді.",
        "Новые названия появятся в новых сертификатах; выданные раньше сохраняют своё название. Пустое поле не меняется.",
        "New certificates show the new names; certificates issued before keep theirs. A blank field stays as it is.",
    ),
    ("reinstate", "Қалпына келтіру", "Восстановить", "Reinstate"),
    ("revoke", "Сертификатты кері қайтару", "Отозвать сертификат", "Revoke a certificate"),
    ("credential_id", "Сертификат нөмірі", "Номер сертификата", "Credential ID"),
    ("orgs", "Ұйымдар", "Организации", "Organizations"),
    ("suspended", "тоқтатылған", "приостановлена", "suspended"),
    ("log", "Журнал", "Журнал", "Log"),
    ("entries", "жазба", "записей", "entries"),
    ("no_hours", "Әзірге расталған сағат жоқ.", "Пока нет подтверждённых часов.", "No attested hours yet."),
    ("refused", "Сұрау қабылданбады", "Запрос отклонён", "Request refused"),
    ("csrf_origin", "Бұл форма басқа сайттан жіберілді, сондықтан ештеңе өзгертілмеді. Осы сайттың бетін ашып, қайталап көріңіз.", "Эта форма отправлена с другого сайта, поэтому ничего не изменено. Откройте страницу этого сайта и попробуйте снова.", "This form was sent from another site, so nothing was changed. Open this site's page and try again."),
    ("csrf_token", "Форманың қорғау белгісі жоқ немесе бұл сессияға сәйкес емес, сондықтан ештеңе өзгертілмеді. Бетті қайта жүктеп, қайталап көріңіз.", "Защитный код формы отсутствует или не относится к этой сессии, поэтому ничего не изменено. Обновите страницу и попробуйте снова.", "The form's security token is missing or belongs to another session, so nothing was changed. Reload the page and try again."),
];

/// What each ledger rule means for the person whose entry broke it, in plain words (kk / ru /
/// en), by the rule's stable name ([`sagat_ledger::Rule::name`]): a refused form says this,
/// in the page's language, above the service's exact reason. Every rule has its line (tested).
const RULES: &[(&str, &str, &str, &str)] = &[
    (
        "version",
        "Бұл жазбаның нұсқасы белгісіз.",
        "Неизвестная версия записи.",
        "This entry's version is not one the ledger knows.",
    ),
    (
        "id-format",
        "Идентификатор пішімі қате.",
        "Идентификатор в неверном формате.",
        "An id is not in its format.",
    ),
    (
        "duplicate-id",
        "Бұл идентификатор бұрыннан бар.",
        "Такой идентификатор уже есть.",
        "This id is already used.",
    ),
    (
        "idempotency",
        "Бұл сұрау бұрын басқа деректермен жіберілген.",
        "Этот запрос уже был отправлен с другими данными.",
        "This request was already sent with different data.",
    ),
    (
        "kid",
        "Жазба басқа кілтпен қол қойылған.",
        "Запись подписана не тем ключом.",
        "The entry is signed with the wrong key.",
    ),
    (
        "signature",
        "Қолтаңба дұрыс емес.",
        "Подпись неверна.",
        "The signature does not verify.",
    ),
    (
        "event-type",
        "Жазба түрі белгісіз.",
        "Неизвестный тип записи.",
        "This kind of entry is not one the ledger knows.",
    ),
    (
        "log-index",
        "Журнал жазбаны қазір қабылдай алмайды; кейінірек қайталаңыз.",
        "Журнал сейчас не может принять запись; повторите позже.",
        "The log cannot take the entry now; try again later.",
    ),
    (
        "required-text",
        "Міндетті мәтін бос.",
        "Обязательный текст пуст.",
        "A required text is empty.",
    ),
    (
        "text-format",
        "Мәтін тым ұзын немесе рұқсат етілмеген таңбалары бар.",
        "Текст слишком длинный или содержит недопустимые символы.",
        "A text is too long or holds characters that are not allowed.",
    ),
    (
        "date-format",
        "Күн нақты күн болуы керек (ЖЖЖЖ-АА-КК).",
        "Дата должна быть настоящей датой (ГГГГ-ММ-ДД).",
        "The date must be a real date (YYYY-MM-DD).",
    ),
    (
        "date-range",
        "Күн 2000 жылдан ерте немесе болашақта.",
        "Дата раньше 2000 года или в будущем.",
        "The date is before 2000 or in the future.",
    ),
    (
        "minutes",
        "Уақыт 1 минуттан 24 сағатқа дейін болуы керек.",
        "Время должно быть от 1 минуты до 24 часов.",
        "The time must be from 1 minute to 24 hours.",
    ),
    (
        "public-key",
        "Ашық кілт жарамсыз немесе қазірдің өзінде қолданыста.",
        "Открытый ключ непригоден или уже действует.",
        "The public key is not usable, or is already the one in force.",
    ),
    (
        "org-exists",
        "Мұндай ұйым тіркелмеген.",
        "Такая организация не зарегистрирована.",
        "No organization is registered with this id.",
    ),
    (
        "org-unique",
        "Бұл ұйым бұрыннан тіркелген.",
        "Эта организация уже зарегистрирована.",
        "This organization is already registered.",
    ),
    (
        "org-suspended",
        "Ұйымның жұмысы тоқтатылған: ол жазба қоса алмайды.",
        "Организация приостановлена и не может добавлять записи.",
        "The organization is suspended and cannot add entries.",
    ),
    (
        "org-status",
        "Ұйым қазірдің өзінде осы күйде.",
        "Организация уже в этом состоянии.",
        "The organization is already in that state.",
    ),
    (
        "org-update-changes",
        "Өзгеретін ештеңе жоқ: жаңа мәндер қазіргілермен бірдей.",
        "Нечего менять: новые значения совпадают с текущими.",
        "Nothing to change: the new values are the current ones.",
    ),
    (
        "volunteer-exists",
        "Мұндай ерікті тіркелмеген.",
        "Такой волонтёр не зарегистрирован.",
        "No volunteer is enrolled with this id.",
    ),
    (
        "volunteer-unique",
        "Бұл ерікті бұрыннан тіркелген.",
        "Этот волонтёр уже зарегистрирован.",
        "This volunteer is already enrolled.",
    ),
    (
        "activity-dates",
        "Іс-шара аяқталғаннан кейін басталады.",
        "Мероприятие начинается позже, чем заканчивается.",
        "The activity starts after it ends.",
    ),
    (
        "activity-exists",
        "Мұндай іс-шара жарияланбаған.",
        "Такое мероприятие не опубликовано.",
        "No activity is published with this id.",
    ),
    (
        "activity-org",
        "Бұл іс-шара басқа ұйымдікі.",
        "Это мероприятие другой организации.",
        "This activity belongs to another organization.",
    ),
    (
        "activity-period",
        "Жұмыс күні іс-шара кезеңінен тыс.",
        "День работы вне сроков мероприятия.",
        "The day worked is outside the activity's dates.",
    ),
    (
        "activity-unique",
        "Бұл іс-шара бұрыннан жарияланған.",
        "Это мероприятие уже опубликовано.",
        "This activity is already published.",
    ),
    (
        "attestation-exists",
        "Мұндай растау жоқ.",
        "Такого подтверждения нет.",
        "There is no attestation with this id.",
    ),
    (
        "attesting-org",
        "Бұл растауды басқа ұйым жасаған.",
        "Это подтверждение сделала другая организация.",
        "Another organization made this attestation.",
    ),
    (
        "attestation-live",
        "Бұл растау кері қайтарылған.",
        "Это подтверждение отозвано.",
        "This attestation was retracted.",
    ),
    (
        "attestation-unique",
        "Бұл растау бұрыннан бар.",
        "Это подтверждение уже есть.",
        "This attestation already exists.",
    ),
    (
        "daily-limit",
        "Ерікті бір күнде 24 сағаттан артық жұмыс істей алмайды.",
        "У волонтёра не может быть больше 24 часов за один день.",
        "A volunteer cannot have more than 24 hours on one day.",
    ),
    (
        "issuer-exists",
        "Мұндай беруші тіркелмеген.",
        "Такой издатель не зарегистрирован.",
        "No issuer is registered with this id.",
    ),
    (
        "issuer-unique",
        "Бұл беруші бұрыннан тіркелген.",
        "Этот издатель уже зарегистрирован.",
        "This issuer is already registered.",
    ),
    (
        "issuer-period",
        "Кілттің мерзімі басталғаннан кейін аяқталуы керек.",
        "Срок ключа должен заканчиваться позже, чем начинается.",
        "The key's validity must end after it starts.",
    ),
    (
        "issuer-validity",
        "Сертификат беруші кілтінің мерзімінен тыс берілген.",
        "Сертификат выдан вне срока действия ключа издателя.",
        "The certificate was issued outside the issuer key's validity.",
    ),
    (
        "credential-unique",
        "Бұл сертификат бұрыннан берілген.",
        "Этот сертификат уже выдан.",
        "This certificate was already issued.",
    ),
    (
        "credential-hash",
        "Сертификат хэші дұрыс емес.",
        "Неверный хэш сертификата.",
        "The certificate's hash is wrong.",
    ),
    (
        "status-index",
        "Кері қайтару тізіміндегі бұл орын бос емес.",
        "Это место в списке отзыва уже занято.",
        "This place in the revocation list is taken.",
    ),
    (
        "credential-exists",
        "Мұндай сертификат берілмеген.",
        "Такой сертификат не выдавался.",
        "No certificate was issued with this id.",
    ),
    (
        "credential-issuer",
        "Бұл сертификатты басқа беруші берген.",
        "Этот сертификат выдал другой издатель.",
        "Another issuer issued this certificate.",
    ),
    (
        "credential-live",
        "Бұл сертификат бұрыннан кері қайтарылған.",
        "Этот сертификат уже отозван.",
        "This certificate was already revoked.",
    ),
];

/// The rules of the application layer (`crate::ops`) and the service that a person meets on a
/// page, in the same plain words (kk / ru / en).
const APP_RULES: &[(&str, &str, &str, &str)] = &[
    ("required", "Міндетті өріс толтырылмаған.", "Не заполнено обязательное поле.", "A required field is empty."),
    ("confirm", "Әрекетті растау үшін белгіні қойыңыз.", "Отметьте флажок, чтобы подтвердить действие.", "Tick the box to confirm."),
    ("body-size", "Файл тым үлкен.", "Файл слишком большой.", "The file is too large."),
    ("page-size", "Бір беттегі жолдар саны рұқсат етілгеннен көп.", "Слишком много строк на странице.", "Too many rows asked for one page."),
    ("language", "Бұл тіл қолдау көрсетілмейді: kk, ru немесе en таңдаңыз.", "Этот язык не поддерживается: выберите kk, ru или en.", "This language is not supported: choose kk, ru or en."),
    ("holder-name", "Волонтердің аты жоқ (өшірілген): сертификат шығару мүмкін емес.", "У волонтёра нет имени (оно удалено): сертификат выпустить нельзя.", "The volunteer has no name (it was erased): no certificate can be issued."),
    ("qr-capacity", "Сертификатқа тым көп ұйым кіреді: кезеңді қысқартыңыз немесе бір ұйымды таңдаңыз.", "В сертификат входит слишком много организаций: сократите период или выберите одну организацию.", "Too many organizations for one certificate: shorten the period or choose one organization."),
    ("issuable", "Бұл кезеңде расталған сағат жоқ: сертификат шығаруға болмайды.", "За этот период нет подтверждённых часов: сертификат выпустить нельзя.", "There are no attested hours in this period: no certificate can be issued."),
    ("period", "Кезең дұрыс емес: басталу күні аяқталу күнінен кеш.", "Неверный период: начало позже конца.", "The period is not right: it starts after it ends."),
    ("csv-header", "CSV файлының бірінші жолы volunteer,date,hours болуы керек.", "Первая строка CSV должна быть volunteer,date,hours.", "The CSV file's first line must be volunteer,date,hours."),
    ("csv-quote", "CSV жолындағы тырнақшалар жабылмаған.", "В строке CSV не закрыты кавычки.", "A quote in this CSV line is not closed."),
    ("csv-row", "CSV жолындағы бағандар саны тақырыппен сәйкес емес.", "Число столбцов в строке CSV не совпадает с заголовком.", "This CSV line does not have the header's columns."),
    ("csv-nonempty", "CSV файлында растау жолы жоқ.", "В файле CSV нет строк с подтверждениями.", "The CSV file has no attestation lines."),
    ("csv-all-rows-valid", "Кейбір жолдар қате, сондықтан ештеңе қосылмады: төмендегі жолдарды түзетіп, файлды қайта жүктеңіз.", "Некоторые строки с ошибками, поэтому ничего не добавлено: исправьте строки ниже и загрузите файл снова.", "Some lines are wrong, so nothing was added: fix the lines below and upload the file again."),
    ("image-size", "Фото тым үлкен.", "Фото слишком большое.", "The photo is too large."),
    ("image-format", "Бұл файл фото емес (JPEG, PNG немесе WebP таңдаңыз).", "Этот файл не фото (выберите JPEG, PNG или WebP).", "This file is not a photo (choose a JPEG, PNG or WebP)."),
    ("decode-capacity", "Сервер қазір бос емес: бір минуттан кейін қайталаңыз.", "Сервер сейчас занят: повторите через минуту.", "The server is busy: try again in a minute."),
    ("enrolling-org", "Жаңа кодты волонтерді тіркеген ұйым ғана бере алады.", "Новый код может выдать только организация, которая зарегистрировала волонтёра.", "Only the organization that enrolled the volunteer can give a new code."),
];

/// What the rule named `rule` means, in `lang`: a ledger rule's line of the table, then one of
/// the application layer's, or `None` (the page then shows the exact reason as it is).
pub fn rule_text(lang: Lang, rule: &str) -> Option<&'static str> {
    RULES
        .iter()
        .chain(APP_RULES)
        .find(|(r, ..)| *r == rule)
        .map(|(_, kk, ru, en)| match lang {
            Lang::Kk => *kk,
            Lang::Ru => *ru,
            Lang::En => *en,
        })
}

/// A category's name in `lang`, from its wire name (the wire name itself when unknown): the
/// certificate's own translation table (`sagat_issuer::Lang::category`), so a page and a
/// certificate never name a category differently.
pub fn category(lang: Lang, wire: &str) -> &str {
    match sagat_verifier::Category::parse(wire) {
        Some(c) => lang.issuer().category(c),
        None if wire == sagat_ledger::UNCATEGORIZED => t(lang, "uncategorized"),
        None => wire,
    }
}

/// The text for `key` in `lang` (the key itself when missing, so a gap is visible, not fatal).
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    TABLE
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, kk, ru, en)| match lang {
            Lang::Kk => *kk,
            Lang::Ru => *ru,
            Lang::En => *en,
        })
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ledger rule has a plain sentence in each language, and the three differ (none is
    /// left in English), and the table names no rule the ledger does not have.
    #[test]
    fn every_ledger_rule_is_said_in_kazakh_russian_and_english() {
        for rule in sagat_ledger::Rule::ALL {
            let said: Vec<&str> = Lang::ALL
                .iter()
                .map(|&l| rule_text(l, rule.name()).unwrap_or_else(|| panic!("{rule} has no text")))
                .collect();
            assert!(
                said.iter().all(|t| t.ends_with('.') && t.len() > 10),
                "{rule}: {said:?}"
            );
            assert!(said[0] != said[2] && said[1] != said[2], "{rule}: {said:?}");
        }
        for (name, ..) in RULES {
            assert!(
                sagat_ledger::Rule::ALL.iter().any(|r| r.name() == *name),
                "{name} is no ledger rule"
            );
        }
    }

    /// The application layer's rules: one line each, said differently in each language, and
    /// none that is also a ledger rule (that table's line would hide this one).
    #[test]
    fn every_application_rule_is_said_in_each_language_once() {
        let mut seen = std::collections::HashSet::new();
        for (name, kk, ru, en) in APP_RULES {
            assert!(seen.insert(*name), "{name} twice");
            assert!(kk != en && ru != en && kk != ru, "{name}");
            assert!(
                !sagat_ledger::Rule::ALL.iter().any(|r| r.name() == *name),
                "{name} is a ledger rule"
            );
        }
        assert_eq!(
            rule_text(Lang::Ru, "confirm"),
            Some("Отметьте флажок, чтобы подтвердить действие.")
        );
    }

    /// Every key the pages ask for is in the table (a missing one would show its key).
    #[test]
    fn every_key_the_pages_use_is_in_the_table() {
        let pages = [
            include_str!("mod.rs"),
            include_str!("org.rs"),
            include_str!("me.rs"),
            include_str!("operator.rs"),
            include_str!("verify_site.rs"),
            include_str!("csrf.rs"),
        ];
        let mut used = 0;
        for src in pages {
            for call in src.split("t(lang, \"").skip(1) {
                let key = &call[..call.find('"').unwrap()];
                assert!(TABLE.iter().any(|(k, ..)| *k == key), "no text for {key:?}");
                used += 1;
            }
        }
        assert!(used > 100, "{used}");
    }

    /// One Kazakh and one Russian term per concept: where a page and the certificate name the
    /// same thing, the page's word is the certificate's (`sagat_issuer::Text`), in both.
    #[test]
    fn pages_and_certificates_use_one_term_per_concept() {
        use sagat_issuer::Text;
        let glossary = [
            ("date", Text::ColumnDate),
            ("org", Text::ColumnOrganization),
            ("activity", Text::ColumnActivity),
            ("category", Text::ColumnCategory),
            ("hours", Text::ColumnHours),
            ("total", Text::TableTotal),
            ("period", Text::Period),
            ("orgs", Text::Organizations),
            ("attestations", Text::Attestations),
            ("corrected", Text::Corrected),
            ("credential_id", Text::CredentialId),
            ("issued_on", Text::IssueDate),
        ];
        for (key, text) in glossary {
            for lang in [Lang::Kk, Lang::Ru] {
                let page = t(lang, key);
                let pdf = lang.issuer().text(text);
                assert_eq!(page.to_lowercase(), pdf.to_lowercase(), "{key} in {lang:?}");
            }
        }
        for lang in [Lang::Kk, Lang::Ru] {
            let log = lang.issuer().text(Text::LogCheckpoint);
            assert!(log.starts_with(t(lang, "log")), "{log}");
        }
    }

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys = std::collections::HashSet::new();
        for (k, kk, ru, en) in TABLE {
            assert!(keys.insert(*k), "duplicate key {k}");
            assert!(!kk.is_empty() && !ru.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_category_is_named_in_each_language() {
        for c in sagat_verifier::Category::ALL {
            for lang in Lang::ALL {
                assert_ne!(category(lang, c.as_str()), c.as_str(), "{c:?} in {lang:?}");
            }
        }
        assert_eq!(category(Lang::Ru, "animal_welfare"), "Защита животных");
        assert_eq!(category(Lang::En, "not_a_category"), "not_a_category");
        assert_eq!(
            category(Lang::Ru, sagat_ledger::UNCATEGORIZED),
            "Без категории"
        );
    }
}
