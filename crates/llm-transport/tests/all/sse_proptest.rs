//! The SSE parser yields the same events for every split of the input, and never panics.

use llm_transport::sse::{SseError, SseEvent, SseParser};
use proptest::prelude::*;
use test_support::fixture;

type Parsed = Vec<Result<SseEvent, SseError>>;

fn parse_in_pieces(bytes: &[u8], cuts: &[usize]) -> Parsed {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        out.extend(parser.push(&bytes[start..cut]));
        start = cut;
    }
    out.extend(parser.finish());
    out
}

fn fixtures() -> Vec<String> {
    [
        "openai/chat_completion_stream.sse",
        "openai/chat_completion_stream_tool_calls.sse",
        "anthropic/messages_stream.sse",
        "anthropic/messages_stream_docs_basic.sse",
        "anthropic/messages_stream_tool_use.sse",
        "anthropic/messages_stream_error_overloaded.sse",
    ]
    .iter()
    .map(|name| fixture(name))
    .collect()
}

#[test]
fn fixtures_parse_into_their_events() {
    for text in fixtures() {
        let events = parse_in_pieces(text.as_bytes(), &[]);
        let data_lines: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .collect();
        let data: Vec<&str> = events
            .iter()
            .map(|event| event.as_ref().unwrap().data.as_str())
            .collect();
        assert_eq!(data, data_lines, "one event per data line, in order");
    }
    let crlf = fixture("anthropic/messages_stream.sse").replace('\n', "\r\n");
    let lf = parse_in_pieces(fixture("anthropic/messages_stream.sse").as_bytes(), &[]);
    assert_eq!(
        parse_in_pieces(crlf.as_bytes(), &[]),
        lf,
        "CRLF line ends give the same events"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_split_of_a_fixture_yields_the_same_events(which in 0usize..6, cuts in prop::collection::vec(any::<usize>(), 0..40), crlf in any::<bool>()) {
        let mut text = fixtures().swap_remove(which);
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let whole = parse_in_pieces(text.as_bytes(), &[]);
        prop_assert_eq!(parse_in_pieces(text.as_bytes(), &cuts), whole);
    }

    #[test]
    fn any_split_of_arbitrary_bytes_yields_the_same_result_without_panicking(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = parse_in_pieces(&bytes, &[]);
        prop_assert_eq!(parse_in_pieces(&bytes, &cuts), whole);
    }

    #[test]
    fn garbage_lines_are_errors(garbage in "[a-zA-Z<>{}\\[\\] ]{1,40}", cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        prop_assume!(!["event", "data", "id", "retry"].iter().any(|field| garbage == *field || garbage.starts_with(&format!("{field} ")) || garbage.split(':').next() == Some(field)));
        let text = format!("data: {{}}\n\n{garbage}\n\n");
        let parsed = parse_in_pieces(text.as_bytes(), &cuts);
        prop_assert_eq!(parsed.len(), 2);
        prop_assert!(parsed[0].is_ok());
        let is_invalid_line = matches!(parsed[1], Err(SseError::InvalidLine { .. }));
        prop_assert!(is_invalid_line);
    }

    #[test]
    fn invalid_utf8_is_an_error(prefix in "[a-z]{0,5}", cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let mut bytes = format!("data: {prefix}").into_bytes();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n', b'\n']);
        let parsed = parse_in_pieces(&bytes, &cuts);
        prop_assert_eq!(parsed, vec![Err(SseError::InvalidUtf8)]);
    }
}
