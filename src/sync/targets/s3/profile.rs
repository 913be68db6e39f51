//! The AWS shared configuration files (`~/.aws/credentials`, `~/.aws/config`), which
//! `object_store` does not read: a static key and a region of one profile, used only
//! when the environment gives no key. Both files belong to the user running the sync,
//! never to the repository.
//!
//! Only the static entries are read (`aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`, `region`); SSO, `credential_process` and `role_arn` profiles are
//! not (export the variables, or use an instance or task role).

use std::path::PathBuf;

/// What one profile of the files gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
}

/// The entries of section `wanted` of an INI file as the AWS tools write it (`key =
/// value`, `#` and `;` comments); none when the file is not INI.
fn section(text: &str, wanted: &str) -> Vec<(String, String)> {
    // Values as written: the AWS tools neither quote nor escape them.
    let literal = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ini::ParseOption::default()
    };
    let Ok(ini) = ini::Ini::load_from_str_opt(text, literal) else {
        return Vec::new();
    };
    ini.section(Some(wanted))
        .map(|entries| {
            entries
                .iter()
                .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Profile `name` from the texts of the credentials file and the config file (where
/// sections other than `default` are `[profile NAME]`).
pub fn parse(credentials: &str, config: &str, name: &str) -> Profile {
    let mut profile = Profile::default();
    let config_section = if name == "default" {
        "default".to_owned()
    } else {
        format!("profile {name}")
    };
    // The credentials file wins over the config file for keys.
    for (key, value) in section(config, &config_section)
        .into_iter()
        .chain(section(credentials, name))
    {
        let slot = match key.as_str() {
            "aws_access_key_id" => &mut profile.access_key_id,
            "aws_secret_access_key" => &mut profile.secret_access_key,
            "aws_session_token" => &mut profile.session_token,
            "region" => &mut profile.region,
            _ => continue,
        };
        if !value.is_empty() {
            *slot = Some(value);
        }
    }
    profile
}

/// The profile `AWS_PROFILE` (else `default`) of the files `AWS_SHARED_CREDENTIALS_FILE`
/// and `AWS_CONFIG_FILE` (else `~/.aws/credentials` and `~/.aws/config`); empty when
/// they are missing.
pub fn load() -> Profile {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    };
    let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    parse(
        &file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        &file("AWS_CONFIG_FILE", "config"),
        &name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "\
# written by aws configure
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = secret/default

[publish]
aws_access_key_id=AKIAPUBLISH
aws_secret_access_key=secret-publish
aws_session_token = token
";
    const CONFIG: &str = "\
[default]
region = eu-west-1
[profile publish]
region = auto
; a comment
aws_access_key_id = AKIAFROMCONFIG
";

    #[test]
    fn the_default_profile() {
        assert_eq!(
            parse(CREDENTIALS, CONFIG, "default"),
            Profile {
                access_key_id: Some("AKIADEFAULT".into()),
                secret_access_key: Some("secret/default".into()),
                session_token: None,
                region: Some("eu-west-1".into()),
            }
        );
    }

    #[test]
    fn a_named_profile_reads_profile_sections_of_the_config_and_credentials_win() {
        assert_eq!(
            parse(CREDENTIALS, CONFIG, "publish"),
            Profile {
                access_key_id: Some("AKIAPUBLISH".into()),
                secret_access_key: Some("secret-publish".into()),
                session_token: Some("token".into()),
                region: Some("auto".into()),
            }
        );
    }

    #[test]
    fn a_missing_profile_or_file_gives_nothing() {
        assert_eq!(parse(CREDENTIALS, CONFIG, "nope"), Profile::default());
        assert_eq!(parse("", "", "default"), Profile::default());
    }
}
