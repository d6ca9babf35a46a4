-- envshim as a mise environment plugin: `_.envshim = { ... }` in mise.toml's [env].
PLUGIN = {}
PLUGIN.name = "envshim"
PLUGIN.version = "0.1.0"
PLUGIN.description = "Team secrets (sops/age/dotenvx) and per-user values from envshim, merged into mise's env"
PLUGIN.homepage = "https://github.com/envshim/envshim"
PLUGIN.license = "MIT"
