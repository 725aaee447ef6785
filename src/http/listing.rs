//! A ListResponse written out as its resources are read ([`ListStream`]): the frame
//! (`totalResults`, `itemsPerPage`, …) first, each batch of resources and each page
//! of a group's members as a chunk of its own, then the end of the frame.

use std::future::ready;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use futures_util::{StreamExt, stream};

use super::response::{SCIM_CONTENT_TYPE, write_json};
use crate::domain::DomainError;
use crate::domain::listing::{ListPart, ListStream};
use crate::scim::BaseUrl;
use crate::scim::groups::{members_envelope, project_member, render_group, render_member};
use crate::scim::list::{ListFrame, ListRequest};
use crate::scim::projection::Projection;
use crate::scim::users::user_body;

/// How the resources of a list are shown.
pub struct ListRendering {
    pub base: BaseUrl,
    pub users: Projection,
    pub groups: Projection,
}

/// Why a list stopped after its first bytes were sent.
#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("reading the list failed: {0}")]
    Read(#[from] DomainError),
    #[error("a listed resource cannot be written: {0}")]
    Write(String),
    #[error("the reading stopped before the list's end")]
    CutShort,
}

/// Writes a list's parts as JSON text, keeping the separators between them.
struct PartWriter {
    rendering: ListRendering,
    /// Whether a resource has been written (the next one needs a comma).
    after_resource: bool,
    after_member: bool,
    /// The text that ends the group whose members are being written.
    group_closing: &'static str,
}

impl PartWriter {
    fn write(&mut self, part: ListPart, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let PartWriter {
            rendering,
            after_resource,
            after_member,
            group_closing,
        } = self;
        match part {
            ListPart::Users(users) => {
                for user in &users {
                    let body = user_body(user, &rendering.base, &rendering.users)
                        .map_err(|e| StreamError::Write(e.detail))?;
                    separate(after_resource, out);
                    body.write_json(out)
                        .map_err(|e| StreamError::Write(e.to_string()))?;
                }
            }
            ListPart::Groups(groups) => {
                for group in &groups {
                    let rendered = rendering.groups.apply(render_group(group, &rendering.base));
                    separate(after_resource, out);
                    write_json(out, &rendered);
                }
            }
            ListPart::GroupHead(group) => {
                let head = rendering
                    .groups
                    .apply(render_group(&group, &rendering.base));
                let (opening, closing) = members_envelope(&head);
                separate(after_resource, out);
                out.extend_from_slice(opening.as_bytes());
                *after_member = false;
                *group_closing = closing;
            }
            ListPart::Members(members) => {
                for member in &members {
                    let entry = render_member(member, &rendering.base);
                    if let Some(entry) = project_member(&rendering.groups, entry) {
                        separate(after_member, out);
                        write_json(out, &entry);
                    }
                }
            }
            ListPart::MembersEnd => out.extend_from_slice(group_closing.as_bytes()),
            ListPart::End => {}
        }
        Ok(())
    }
}

/// Writes the comma before an array's element unless it is the first (`written`
/// tells, and is set).
fn separate(written: &mut bool, out: &mut Vec<u8>) {
    if *written {
        out.push(b',');
    }
    *written = true;
}

/// The response of a streamed list. A failure once the first bytes are out cannot
/// change the status: it is logged and the connection is cut, so the client sees an
/// incomplete body rather than a valid-looking short list.
/// The streamed ListResponse of a list request over one resource type: `startIndex`
/// under index paging, `nextCursor` under cursor paging.
pub fn streamed_page(
    list: ListStream,
    request: &ListRequest,
    start_index: i64,
    rendering: ListRendering,
) -> HttpResponse {
    let next = list
        .head
        .next
        .as_ref()
        .map(|position| request.encode_cursor(position));
    let frame = ListFrame {
        total_results: list.head.total,
        items_per_page: list.head.items,
        start_index: (!request.uses_cursor()).then_some(start_index),
        next_cursor: next.as_deref(),
    };
    streamed_list(list, frame, rendering)
}

pub fn streamed_list(list: ListStream, frame: ListFrame, rendering: ListRendering) -> HttpResponse {
    let mut head = Vec::with_capacity(256);
    frame.write_head(&mut head);
    let mut tail = Vec::with_capacity(64);
    frame.write_tail(&mut tail);
    let tail = Bytes::from(tail);
    let writer = PartWriter {
        rendering,
        after_resource: false,
        after_member: false,
        group_closing: "",
    };
    let chunks = stream::unfold(Some((list.parts, writer)), move |state| {
        let tail = tail.clone();
        async move {
            let (mut parts, mut writer) = state?;
            let chunk = match parts.recv().await {
                Some(Ok(ListPart::End)) => return Some((Ok(tail), None)),
                Some(Ok(part)) => {
                    let mut chunk = Vec::new();
                    writer.write(part, &mut chunk).map(|()| Bytes::from(chunk))
                }
                Some(Err(error)) => Err(StreamError::Read(error)),
                None => Err(StreamError::CutShort),
            };
            match chunk {
                Ok(chunk) => Some((Ok(chunk), Some((parts, writer)))),
                Err(error) => {
                    tracing::error!(%error, "a streamed list was cut short");
                    Some((Err(error), None))
                }
            }
        }
    });
    let body = stream::once(ready(Ok(Bytes::from(head)))).chain(chunks);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
        .streaming(body)
}
