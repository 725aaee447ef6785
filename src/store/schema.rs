//! Diesel table definitions, shared by both backends (only types both support).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        user_count -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        client_id -> Text,
        client_secret_hash -> Text,
        is_management -> Bool,
        allow_signup_on_signin -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        app_id -> Text,
        token_hash -> Text,
        kind -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        attributes -> Text,
        password_hash -> Nullable<Text>,
        status -> Text,
        custom_data -> Nullable<Text>,
        birthday -> Nullable<Date>,
        last_sign_in -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_modified -> Timestamp,
        version -> BigInt,
        user_name_ci -> Text,
        external_id -> Nullable<Text>,
        active -> Bool,
        display_name_ci -> Nullable<Text>,
        nick_name_ci -> Nullable<Text>,
        profile_url_ci -> Nullable<Text>,
        title_ci -> Nullable<Text>,
        user_type_ci -> Nullable<Text>,
        preferred_language_ci -> Nullable<Text>,
        locale_ci -> Nullable<Text>,
        timezone_ci -> Nullable<Text>,
        name_formatted_ci -> Nullable<Text>,
        family_name_ci -> Nullable<Text>,
        given_name_ci -> Nullable<Text>,
        middle_name_ci -> Nullable<Text>,
        honorific_prefix_ci -> Nullable<Text>,
        honorific_suffix_ci -> Nullable<Text>,
        employee_number_ci -> Nullable<Text>,
        cost_center_ci -> Nullable<Text>,
        organization_ci -> Nullable<Text>,
        division_ci -> Nullable<Text>,
        department_ci -> Nullable<Text>,
        manager_value_ci -> Nullable<Text>,
        manager_display_name_ci -> Nullable<Text>,
    }
}

diesel::table! {
    user_values (user_id, attribute, position) {
        user_id -> Text,
        tenant_id -> Text,
        attribute -> Text,
        position -> Integer,
        value_ci -> Nullable<Text>,
        value_exact -> Nullable<Text>,
        display_ci -> Nullable<Text>,
        type_ci -> Nullable<Text>,
        is_primary -> Bool,
        formatted_ci -> Nullable<Text>,
        street_address_ci -> Nullable<Text>,
        locality_ci -> Nullable<Text>,
        region_ci -> Nullable<Text>,
        postal_code_ci -> Nullable<Text>,
        country_ci -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        tenant_id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        detail -> Nullable<Text>,
        actor_management -> Bool,
        request_id -> Nullable<Text>,
        changed -> Nullable<Text>,
    }
}

diesel::table! {
    user_apps (user_id, app_id) {
        user_id -> Text,
        app_id -> Text,
        tenant_id -> Text,
        external_account_id -> Nullable<Text>,
        custom_app_data -> Nullable<Text>,
        consents -> Nullable<Text>,
        assigned_at -> Timestamp,
        last_sign_in -> Nullable<Timestamp>,
    }
}

diesel::table! {
    social_accounts (tenant_id, provider, subject) {
        user_id -> Text,
        tenant_id -> Text,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        tenant_id -> Text,
        attributes -> Text,
        custom_data -> Nullable<Text>,
        display_name_ci -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        last_modified -> Timestamp,
        version -> BigInt,
        created_by_app -> Nullable<Text>,
    }
}

diesel::table! {
    group_members (group_id, member_id) {
        group_id -> Text,
        member_id -> Text,
        member_type -> Text,
        tenant_id -> Text,
    }
}

diesel::joinable!(applications -> tenants (tenant_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(user_apps -> users (user_id));
diesel::joinable!(user_apps -> applications (app_id));
diesel::joinable!(social_accounts -> users (user_id));
diesel::joinable!(api_tokens -> applications (app_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(user_values -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    applications,
    api_tokens,
    users,
    user_values,
    audit_events,
    user_apps,
    social_accounts,
    groups,
    group_members,
);
