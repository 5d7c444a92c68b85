//! The small page behind a survey link (`crate::survey`): its text in the
//! chat's languages, and the HTML, a heading, one status line and at most
//! one plain form (no script), on the shared theme.

/// The page's text in one language.
pub struct Text {
    /// `lang` of the page.
    pub lang: &'static str,
    /// The heading and title.
    pub title: &'static str,
    /// "You chose {score} out of {high}."
    pub chose: &'static str,
    /// The button that sends the rating.
    pub send: &'static str,
    /// The comment box's label.
    pub comment: &'static str,
    /// The button that sends a comment.
    pub send_comment: &'static str,
    /// "Thanks, you rated {score}."
    pub rated: &'static str,
    /// A comment was kept.
    pub comment_kept: &'static str,
    /// The survey was answered before.
    pub already: &'static str,
    /// A link that is not one of ours.
    pub invalid: &'static str,
    /// A score off the survey's scale.
    pub bad_score: &'static str,
    /// The survey is over (expired, closed).
    pub closed: &'static str,
    /// Links are not configured.
    pub off: &'static str,
    /// The form came from another site.
    pub cross_site: &'static str,
    /// The context service could not answer.
    pub unavailable: &'static str,
}

/// The languages, English first (the fallback).
pub const TEXTS: &[Text] = &[
    Text {
        lang: "en",
        title: "How did we do?",
        chose: "You chose {score} out of {high}.",
        send: "Send my rating",
        comment: "Anything to add? (optional)",
        send_comment: "Send comment",
        rated: "Thanks, you rated {score}.",
        comment_kept: "Thanks for your comment.",
        already: "You already answered this survey. Thank you!",
        invalid: "This survey link is not valid.",
        bad_score: "This score is not on the survey's scale.",
        closed: "This survey is closed.",
        off: "Survey links are not available.",
        cross_site: "Please send this form from its own page.",
        unavailable: "We cannot take your answer right now. Please try again later.",
    },
    Text {
        lang: "es",
        title: "¿Qué tal lo hicimos?",
        chose: "Ha elegido {score} de {high}.",
        send: "Enviar mi valoración",
        comment: "¿Algo que añadir? (opcional)",
        send_comment: "Enviar comentario",
        rated: "Gracias, ha valorado con {score}.",
        comment_kept: "Gracias por su comentario.",
        already: "Ya ha respondido a esta encuesta. ¡Gracias!",
        invalid: "Este enlace de encuesta no es válido.",
        bad_score: "Esta puntuación no está en la escala de la encuesta.",
        closed: "Esta encuesta está cerrada.",
        off: "Los enlaces de encuesta no están disponibles.",
        cross_site: "Envíe este formulario desde su propia página.",
        unavailable: "No podemos recoger su respuesta ahora. Inténtelo más tarde.",
    },
    Text {
        lang: "fr",
        title: "Comment avons-nous fait ?",
        chose: "Vous avez choisi {score} sur {high}.",
        send: "Envoyer ma note",
        comment: "Quelque chose à ajouter ? (facultatif)",
        send_comment: "Envoyer le commentaire",
        rated: "Merci, vous avez donné la note {score}.",
        comment_kept: "Merci pour votre commentaire.",
        already: "Vous avez déjà répondu à cette enquête. Merci !",
        invalid: "Ce lien d'enquête n'est pas valide.",
        bad_score: "Cette note n'est pas sur l'échelle de l'enquête.",
        closed: "Cette enquête est close.",
        off: "Les liens d'enquête ne sont pas disponibles.",
        cross_site: "Veuillez envoyer ce formulaire depuis sa propre page.",
        unavailable: "Nous ne pouvons pas prendre votre réponse pour le moment. Réessayez plus tard.",
    },
    Text {
        lang: "de",
        title: "Wie haben wir das gemacht?",
        chose: "Sie haben {score} von {high} gewählt.",
        send: "Bewertung senden",
        comment: "Möchten Sie etwas ergänzen? (optional)",
        send_comment: "Kommentar senden",
        rated: "Danke, Sie haben mit {score} bewertet.",
        comment_kept: "Danke für Ihren Kommentar.",
        already: "Sie haben diese Umfrage bereits beantwortet. Danke!",
        invalid: "Dieser Umfragelink ist ungültig.",
        bad_score: "Diese Bewertung liegt nicht auf der Skala der Umfrage.",
        closed: "Diese Umfrage ist geschlossen.",
        off: "Umfragelinks sind nicht verfügbar.",
        cross_site: "Bitte senden Sie dieses Formular von seiner eigenen Seite.",
        unavailable: "Wir können Ihre Antwort gerade nicht annehmen. Bitte versuchen Sie es später.",
    },
];

/// The text for `language` (an ISO 639-1 code), else the first of the
/// browser's `Accept-Language` we have, else English.
pub fn text(language: Option<&str>, accept_language: Option<&str>) -> &'static Text {
    let find = |code: &str| {
        let code = code
            .trim()
            .split(['-', '_', ';'])
            .next()
            .unwrap_or_default();
        TEXTS.iter().find(|t| t.lang.eq_ignore_ascii_case(code))
    };
    language
        .and_then(find)
        .or_else(|| accept_language.and_then(|a| a.split(',').find_map(find)))
        .unwrap_or(&TEXTS[0])
}

/// A form on the page: where it posts, whether it has a comment box, and
/// its button.
pub struct Form<'a> {
    /// The form's `action` (the link's own path).
    pub action: &'a str,
    /// Whether it has the comment box.
    pub comment: bool,
    /// The button's text.
    pub button: &'a str,
}

/// The page: `message` as its status line, then `form` if any. `action`
/// holds only a token's characters and digits, and the text is ours, so
/// nothing here needs escaping but is escaped anyway.
pub fn html(text: &Text, message: &str, form: Option<Form<'_>>) -> String {
    let form = form.map_or_else(String::new, |f| {
        let comment = if f.comment {
            format!(
                "<label for=\"comment\">{}</label>\n<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"2000\"></textarea>\n",
                escape(text.comment)
            )
        } else {
            String::new()
        };
        format!(
            "<form method=\"post\" action=\"{}\">\n{comment}<button type=\"submit\">{}</button>\n</form>\n",
            escape(f.action),
            escape(f.button)
        )
    });
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title}</title>\n<link rel=\"stylesheet\" href=\"/assets/common/theme.css\">\n</head>\n\
<body>\n<main>\n<h1>{title}</h1>\n<p role=\"status\">{message}</p>\n{form}</main>\n</body>\n</html>\n",
        lang = text.lang,
        title = escape(text.title),
        message = escape(message),
    )
}

/// `template` with `{score}` and `{high}` filled in.
pub fn fill(template: &str, score: u32, high: u32) -> String {
    template
        .replace("{score}", &score.to_string())
        .replace("{high}", &high.to_string())
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_says_every_line_with_its_values() {
        for t in TEXTS {
            assert!(
                t.chose.contains("{score}") && t.chose.contains("{high}"),
                "{}",
                t.lang
            );
            assert!(t.rated.contains("{score}"), "{}", t.lang);
            for line in [t.title, t.send, t.comment, t.already, t.invalid, t.closed] {
                assert!(!line.is_empty(), "{}", t.lang);
            }
        }
        // The chat's own languages, each once.
        let langs: Vec<&str> = TEXTS.iter().map(|t| t.lang).collect();
        assert_eq!(langs, ["en", "es", "fr", "de"]);
    }

    #[test]
    fn the_customer_language_then_the_browser_then_english() {
        assert_eq!(text(Some("de"), Some("fr")).lang, "de");
        assert_eq!(text(Some("pt"), Some("pt-BR, fr;q=0.8")).lang, "fr");
        assert_eq!(text(None, Some("es-ES")).lang, "es");
        assert_eq!(text(None, None).lang, "en");
    }

    #[test]
    fn the_page_is_labelled_and_escaped() {
        let page = html(
            &TEXTS[0],
            "<b>",
            Some(Form {
                action: "/survey/a.b/4",
                comment: true,
                button: "Send",
            }),
        );
        assert!(page.contains("<p role=\"status\">&lt;b&gt;</p>"), "{page}");
        assert!(page.contains("<label for=\"comment\">"), "{page}");
        assert!(page.contains("action=\"/survey/a.b/4\""), "{page}");
        assert!(page.contains("<html lang=\"en\">"), "{page}");
        assert_eq!(fill(TEXTS[0].chose, 4, 5), "You chose 4 out of 5.");
    }
}
