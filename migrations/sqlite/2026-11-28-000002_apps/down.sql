DROP TABLE social_accounts;
DROP TABLE user_apps;
