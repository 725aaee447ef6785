//! The schemas of the document that no Rust type describes: SCIM messages, which
//! are dynamic JSON, and the resources, made from the SCIM schema definitions that
//! also serve `/Schemas` and validate input.

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{Components, Ref, RefOr};

use crate::schema::{
    AttributeDef, AttributeType, GROUP_RESOURCE, Mutability, ResourceTypeDef, USER_RESOURCE,
    core_schema, extension_schema,
};
use crate::scim::ScimType;

/// `#/components/schemas/{name}`.
pub fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

pub fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// Any JSON value.
fn any() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

fn typed(kind: Type) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(kind).into()
}

pub fn array(items: RefOr<Schema>) -> RefOr<Schema> {
    ArrayBuilder::new().items(items).into()
}

fn string_enum(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// An object with `properties` (any others allowed), `required` among them.
pub fn object(
    description: &str,
    properties: Vec<(&str, RefOr<Schema>)>,
    required: &[&str],
) -> RefOr<Schema> {
    object_of(description, properties, required, true)
}

/// An object with `properties`, `required` among them, and others only if `open`.
fn object_of(
    description: &str,
    properties: Vec<(&str, RefOr<Schema>)>,
    required: &[&str],
    open: bool,
) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(open)));
    if !description.is_empty() {
        object = object.description(Some(description));
    }
    for (name, schema) in properties {
        object = object.property(name, schema);
    }
    for name in required {
        object = object.required(*name);
    }
    object.into()
}

/// Any JSON object.
pub fn free_object(description: &str) -> RefOr<Schema> {
    object(description, Vec::new(), &[])
}

/// How a resource schema is used: as answered, or as written.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Answered,
    Written,
}

/// The JSON Schema of one SCIM attribute.
fn attribute(definition: &AttributeDef, direction: Direction) -> RefOr<Schema> {
    let single = match definition.kind {
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => string(),
        AttributeType::DateTime => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into(),
        AttributeType::Boolean => typed(Type::Boolean),
        AttributeType::Decimal => typed(Type::Number),
        AttributeType::Integer => typed(Type::Integer),
        AttributeType::Complex if definition.is_free_form() => free_object(""),
        AttributeType::Complex => attributes_object(&definition.sub_attributes, direction, &[]),
    };
    if definition.multi_valued {
        array(single)
    } else {
        single
    }
}

/// An object of `definitions` (those a client writes, or all), any others allowed.
fn attributes_object(
    definitions: &[AttributeDef],
    direction: Direction,
    required: &[&str],
) -> RefOr<Schema> {
    let properties = definitions
        .iter()
        .filter(|definition| {
            direction == Direction::Answered || definition.mutability != Mutability::ReadOnly
        })
        .map(|definition| (definition.name.as_str(), attribute(definition, direction)))
        .collect();
    object_of("", properties, required, direction == Direction::Answered)
}

/// The `meta` attribute of a resource (RFC 7643 §3.1).
fn meta() -> RefOr<Schema> {
    let time = || -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    };
    object(
        "",
        vec![
            ("resourceType", string()),
            ("created", time()),
            ("lastModified", time()),
            ("location", string()),
            ("version", string()),
        ],
        &[],
    )
}

/// A resource of `resource_type`: its core attributes, the common ones, and each
/// extension's attributes under its URN.
fn resource(resource_type: &ResourceTypeDef, direction: Direction) -> RefOr<Schema> {
    let core = core_schema(resource_type);
    let urns: Vec<&str> = std::iter::once(resource_type.core)
        .chain(resource_type.extensions.iter().copied())
        .collect();
    let mut properties = vec![("schemas", array(string_enum(&urns)))];
    let mut required = vec![];
    if direction == Direction::Answered {
        properties.push(("id", string()));
        properties.push(("meta", meta()));
        required = vec!["schemas", "id"];
    }
    properties.push(("externalId", string()));
    for definition in &core.attributes {
        if direction == Direction::Written && definition.mutability == Mutability::ReadOnly {
            continue;
        }
        if direction == Direction::Written && definition.required {
            required.push(definition.name.as_str());
        }
        properties.push((definition.name.as_str(), attribute(definition, direction)));
    }
    for urn in resource_type.extensions {
        let extension = extension_schema(urn);
        properties.push((
            urn,
            attributes_object(&extension.attributes, direction, &[]),
        ));
    }
    let description = match direction {
        Direction::Answered => format!(
            "A {} as answered ({}); attributes the request's `attributes` or `excludedAttributes` leave out are absent.",
            resource_type.name, resource_type.core
        ),
        Direction::Written => format!(
            "A {} as a client writes it ({}); read-only attributes are ignored, and attribute names match case-insensitively.",
            resource_type.name, resource_type.core
        ),
    };
    object_of(
        &description,
        properties,
        &required,
        direction == Direction::Answered,
    )
}

/// A ListResponse (RFC 7644 §3.4.2) of `item`s.
fn list_response(description: &str, item: RefOr<Schema>) -> RefOr<Schema> {
    object(
        description,
        vec![
            ("schemas", array(string())),
            ("totalResults", typed(Type::Integer)),
            ("itemsPerPage", typed(Type::Integer)),
            ("startIndex", typed(Type::Integer)),
            ("Resources", array(item)),
            (
                "nextCursor",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("RFC 9865: where the next page starts"))
                    .into(),
            ),
        ],
        &["schemas", "totalResults"],
    )
}

/// The SCIM Error message (RFC 7644 §3.12).
fn scim_error() -> RefOr<Schema> {
    let scim_types: Vec<&str> = ScimType::ALL.iter().map(|t| t.as_str()).collect();
    object(
        "A SCIM Error (RFC 7644 §3.12); `status` is the HTTP status as a string.",
        vec![
            ("schemas", array(string())),
            ("status", string()),
            ("scimType", string_enum(&scim_types)),
            ("detail", string()),
        ],
        &["schemas", "status", "detail"],
    )
}

/// The token endpoint's error: a SCIM Error that is also an OAuth2 error (RFC 6749 §5.2).
fn oauth_error() -> RefOr<Schema> {
    object(
        "A SCIM Error that also carries OAuth2's `error` and `error_description` (RFC 6749 §5.2).",
        vec![
            ("schemas", array(string())),
            ("status", string()),
            ("detail", string()),
            (
                "error",
                string_enum(&[
                    "invalid_request",
                    "invalid_client",
                    "unsupported_grant_type",
                    "temporarily_unavailable",
                    "server_error",
                ]),
            ),
            ("error_description", string()),
        ],
        &["schemas", "status", "detail", "error", "error_description"],
    )
}

fn search_request() -> RefOr<Schema> {
    object(
        "A SearchRequest (RFC 7644 §3.4.3); `cursor` and `count` page by cursor (RFC 9865).",
        vec![
            ("schemas", array(string())),
            ("attributes", array(string())),
            ("excludedAttributes", array(string())),
            ("filter", string()),
            ("sortBy", string()),
            ("sortOrder", string_enum(&["ascending", "descending"])),
            ("startIndex", typed(Type::Integer)),
            ("count", typed(Type::Integer)),
            ("cursor", string()),
        ],
        &[],
    )
}

fn patch_op() -> RefOr<Schema> {
    let operation = object(
        "`op` is add, remove or replace, matched case-insensitively.",
        vec![("op", string()), ("path", string()), ("value", any())],
        &["op"],
    );
    object(
        "A PatchOp request (RFC 7644 §3.5.2).",
        vec![
            ("schemas", array(string())),
            ("Operations", array(operation)),
        ],
        &["schemas", "Operations"],
    )
}

fn bulk_request() -> RefOr<Schema> {
    let operation = object(
        "",
        vec![
            ("method", string_enum(&["POST", "PUT", "PATCH", "DELETE"])),
            ("bulkId", string()),
            ("version", string()),
            ("path", string()),
            ("data", any()),
        ],
        &["method", "path"],
    );
    object(
        "A BulkRequest (RFC 7644 §3.7).",
        vec![
            ("schemas", array(string())),
            ("failOnErrors", typed(Type::Integer)),
            ("Operations", array(operation)),
        ],
        &["schemas", "Operations"],
    )
}

fn bulk_response() -> RefOr<Schema> {
    let operation = object(
        "`status` is the operation's HTTP status as a string; `response` is a SCIM Error when it failed.",
        vec![
            ("method", string()),
            ("bulkId", string()),
            ("version", string()),
            ("location", string()),
            ("status", string()),
            ("response", any()),
        ],
        &["status"],
    );
    object(
        "A BulkResponse (RFC 7644 §3.7).",
        vec![
            ("schemas", array(string())),
            ("Operations", array(operation)),
        ],
        &["schemas", "Operations"],
    )
}

fn service_provider_config() -> RefOr<Schema> {
    let supported = || {
        object(
            "",
            vec![("supported", typed(Type::Boolean))],
            &["supported"],
        )
    };
    object(
        "The ServiceProviderConfig (RFC 7643 §5).",
        vec![
            ("schemas", array(string())),
            ("documentationUri", string()),
            ("patch", supported()),
            ("bulk", supported()),
            ("filter", supported()),
            ("changePassword", supported()),
            ("sort", supported()),
            ("etag", supported()),
            ("authenticationSchemes", array(free_object(""))),
            ("meta", meta()),
        ],
        &[
            "schemas",
            "patch",
            "bulk",
            "filter",
            "changePassword",
            "sort",
            "etag",
            "authenticationSchemes",
        ],
    )
}

fn resource_type() -> RefOr<Schema> {
    let extension = object(
        "",
        vec![("schema", string()), ("required", typed(Type::Boolean))],
        &["schema", "required"],
    );
    object(
        "A ResourceType (RFC 7643 §6).",
        vec![
            ("schemas", array(string())),
            ("id", string()),
            ("name", string()),
            ("description", string()),
            ("endpoint", string()),
            ("schema", string()),
            ("schemaExtensions", array(extension)),
            ("meta", meta()),
        ],
        &["schemas", "name", "endpoint", "schema"],
    )
}

fn schema_document() -> RefOr<Schema> {
    object(
        "A schema definition (RFC 7643 §7).",
        vec![
            ("schemas", array(string())),
            ("id", string()),
            ("name", string()),
            ("description", string()),
            ("attributes", array(free_object(""))),
            ("meta", meta()),
        ],
        &["id", "attributes"],
    )
}

fn audit_event() -> RefOr<Schema> {
    let nullable_string = || -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .into()
    };
    let actor = object(
        "Who caused the event: an application's token, the command line, or a caller whose authentication failed.",
        vec![
            ("type", string_enum(&["application", "cli", "anonymous"])),
            ("app_id", string()),
            ("management", typed(Type::Boolean)),
        ],
        &["type"],
    );
    object(
        "One audit event.",
        vec![
            ("id", string()),
            ("occurred_at", string()),
            ("actor", actor),
            ("action", string()),
            ("resource_type", string()),
            ("resource_id", string()),
            ("request_id", nullable_string()),
            ("changed", array(string())),
            ("detail", any()),
        ],
        &[
            "id",
            "occurred_at",
            "actor",
            "action",
            "resource_type",
            "resource_id",
        ],
    )
}

fn audit_event_page() -> RefOr<Schema> {
    object(
        "A page of audit events, oldest first; `next_cursor` is null on the last page.",
        vec![
            ("events", array(reference("AuditEvent"))),
            (
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .into(),
            ),
        ],
        &["events", "next_cursor"],
    )
}

/// Adds the schemas above to `components`.
pub fn add_to(components: &mut Components) {
    let schemas: Vec<(String, RefOr<Schema>)> = vec![
        ("ScimError".into(), scim_error()),
        ("OAuthError".into(), oauth_error()),
        ("SearchRequest".into(), search_request()),
        ("PatchOp".into(), patch_op()),
        ("BulkRequest".into(), bulk_request()),
        ("BulkResponse".into(), bulk_response()),
        ("ServiceProviderConfig".into(), service_provider_config()),
        ("ResourceType".into(), resource_type()),
        (
            "ResourceTypeList".into(),
            list_response("The resource types.", reference("ResourceType")),
        ),
        ("Schema".into(), schema_document()),
        (
            "SchemaList".into(),
            list_response("The schemas.", reference("Schema")),
        ),
        (
            "ListResponse".into(),
            list_response(
                "Users, then groups.",
                RefOr::T(Schema::AnyOf(
                    utoipa::openapi::schema::AnyOfBuilder::new()
                        .item(reference(USER_RESOURCE.name))
                        .item(reference(GROUP_RESOURCE.name))
                        .build(),
                )),
            ),
        ),
        ("AuditEvent".into(), audit_event()),
        ("AuditEventPage".into(), audit_event_page()),
        (
            "SignIn".into(),
            object(
                "The signed-in user and the claims an application puts in its tokens.",
                vec![
                    ("user", reference(USER_RESOURCE.name)),
                    ("claims", free_object("")),
                ],
                &["user", "claims"],
            ),
        ),
        (
            "Status".into(),
            object("", vec![("status", string())], &["status"]),
        ),
    ];
    for (name, schema) in schemas {
        components.schemas.insert(name, schema);
    }
    for resource_type in [&USER_RESOURCE, &GROUP_RESOURCE] {
        components.schemas.insert(
            resource_type.name.to_owned(),
            resource(resource_type, Direction::Answered),
        );
        components.schemas.insert(
            written_name(resource_type),
            resource(resource_type, Direction::Written),
        );
        components.schemas.insert(
            list_name(resource_type),
            list_response(
                &format!("{}s.", resource_type.name),
                reference(resource_type.name),
            ),
        );
    }
}

/// `UserRequest`: the schema of a resource as written.
pub fn written_name(resource_type: &ResourceTypeDef) -> String {
    format!("{}Request", resource_type.name)
}

/// `UserListResponse`.
pub fn list_name(resource_type: &ResourceTypeDef) -> String {
    format!("{}ListResponse", resource_type.name)
}
