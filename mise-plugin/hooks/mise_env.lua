-- MiseEnv: the team and user layers from `envshim export --format json --from-mise`.
--
-- mise has already applied its own [env] entries, so envshim leaves its mise layer
-- out (--from-mise) and nothing is merged twice. The `_.envshim` table reaches
-- envshim as JSON in ENVSHIM_MISE_OPTIONS; `env = "staging"` becomes --env. The
-- executable is $ENVSHIM_BIN or envshim on PATH: the user's choice, never the
-- repository's (a `command` option in a committed config is ignored).
--
-- Any failure (envshim missing, a file that does not decrypt, bad JSON) logs one
-- warning and returns no variables: a broken envshim must never break every prompt.

local cmd = require("cmd")
local json = require("json")

local function quote(text)
    return "'" .. string.gsub(tostring(text), "'", "'\\''") .. "'"
end

local function warn(message)
    message = string.gsub(message, "^envshim: ", "")
    io.stderr:write("mise WARN  envshim: " .. message .. "\n")
end

local function run_envshim(ctx)
    local options = ctx.options or {}
    local words = {
        -- never a `command` from the repository's config: that would run its code
        quote(os.getenv("ENVSHIM_BIN") or "envshim"),
        "export", "--format", "json", "--from-mise", "--hook",
    }
    if type(options.env) == "string" then
        table.insert(words, "--env")
        table.insert(words, quote(options.env))
    end
    table.insert(words, quote(ctx.config_root))
    -- the table goes through the environment, not argv (which every user can read)
    local out = cmd.exec(table.concat(words, " "), {
        cwd = ctx.config_root,
        env = { ENVSHIM_MISE_OPTIONS = json.encode(options) },
    })
    return json.decode(out)
end

-- cmd.exec's error is "runtime error: Command failed with status ...: <stderr>" and a
-- traceback: keep envshim's own line.
local function reason(err)
    local text = tostring(err)
    text = string.gsub(text, "\n%s*stack traceback:.*$", "")
    text = string.gsub(text, "^.-exit status: %d+: ", "")
    text = string.gsub(text, "^envshim: ", "")
    return (string.gsub(text, "%s+$", ""))
end

function PLUGIN:MiseEnv(ctx)
    local ok, result = pcall(run_envshim, ctx)
    if not ok or type(result) ~= "table" or type(result.env) ~= "table" then
        warn(reason(result) .. " (no variables loaded)")
        return { env = {}, redact = true, cacheable = false }
    end
    if type(result.notice) == "string" then
        warn(result.notice)
    end
    for _, line in ipairs(result.warnings or {}) do
        warn("warning: " .. tostring(line))
    end
    local env = {}
    local keys = {}
    for key in pairs(result.env) do
        table.insert(keys, key)
    end
    table.sort(keys)
    for _, key in ipairs(keys) do
        table.insert(env, { key = key, value = result.env[key] })
    end
    return {
        env = env,
        redact = true,
        cacheable = true,
        watch_files = result.watch or {},
    }
end
