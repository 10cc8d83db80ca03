//! Chat messages: roles, string or multi-part content, tool calls.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::Extra;

/// One message of a conversation, in a request (`messages[]`) or a response (`choices[].message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote the message.
    pub role: Role,
    /// The text or content parts. Always written, as `null` when `None` (an assistant message
    /// that only calls tools).
    #[serde(default)]
    pub content: Option<Content>,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// For a `tool` message: the id of the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Fields this type does not model (e.g. `refusal`, `annotations`, `audio`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// A message with `role` and plain-text content.
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            extra: Extra::new(),
        }
    }

    /// A `system` message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, text)
    }

    /// A `developer` message (the newer name for system instructions).
    pub fn developer(text: impl Into<String>) -> Self {
        Self::new(Role::Developer, text)
    }

    /// A `user` message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }

    /// An `assistant` message (e.g. a previous answer put back into the history).
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, text)
    }

    /// A `tool` message answering the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, text)
        }
    }

    /// A `user` message made of content parts (text and images).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Self {
            content: Some(Content::Parts(parts)),
            ..Self::new(Role::User, String::new())
        }
    }

    /// The text of the message: the string content, or the first text part.
    pub fn text(&self) -> Option<&str> {
        match self.content.as_ref()? {
            Content::Text(text) => Some(text),
            Content::Parts(parts) => parts.iter().find_map(|part| match part {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            }),
        }
    }
}

/// The author of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Instructions for the model.
    System,
    /// Instructions for the model (OpenAI's newer name for `system`).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
    /// The result of a legacy function call.
    Function,
    /// A role this crate does not know, kept as written.
    #[serde(untagged)]
    Other(String),
}

/// Message content: a plain string or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text and image parts.
    Parts(Vec<ContentPart>),
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

/// One part of a multi-part message content.
///
/// A part with a type this crate does not model, or with fields beyond the modelled ones (such
/// as `cache_control`), is kept verbatim as [`ContentPart::Other`] so it is sent back unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// `{"type":"text","text":…}`
    Text {
        /// The text.
        text: String,
    },
    /// `{"type":"image_url","image_url":{"url":…}}`; the URL may be `https://…` or a
    /// `data:image/…;base64,…` URL.
    ImageUrl {
        /// Where the image is.
        image_url: ImageUrl,
    },
    /// Any other part, as its JSON object.
    Other(Extra),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image part from a URL (`https://…` or `data:…;base64,…`).
    pub fn image_url(url: impl Into<String>) -> Self {
        Self::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
                extra: Extra::new(),
            },
        }
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Known<'a> {
            Text { text: &'a str },
            ImageUrl { image_url: &'a ImageUrl },
        }
        match self {
            Self::Text { text } => Known::Text { text }.serialize(serializer),
            Self::ImageUrl { image_url } => Known::ImageUrl { image_url }.serialize(serializer),
            Self::Other(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Extra::deserialize(deserializer)?;
        let only = |keys: &[&str]| map.keys().all(|key| keys.contains(&key.as_str()));
        let part = match map.get("type").and_then(Value::as_str) {
            Some("text") if only(&["type", "text"]) => match map.get("text") {
                Some(Value::String(text)) => Some(Self::Text { text: text.clone() }),
                _ => None,
            },
            Some("image_url") if only(&["type", "image_url"]) => map
                .get("image_url")
                .and_then(|value| ImageUrl::deserialize(value).ok())
                .map(|image_url| Self::ImageUrl { image_url }),
            _ => None,
        };
        Ok(part.unwrap_or(Self::Other(map)))
    }
}

/// The image of an `image_url` part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `https://…` or `data:image/png;base64,…`.
    pub url: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the `tool` message that answers it.
    pub id: String,
    /// `"function"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ToolCall {
    /// A function call with its arguments as JSON text.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }
}

/// The function of a [`ToolCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as JSON text (as the model wrote them; may be invalid JSON).
    pub arguments: String,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
