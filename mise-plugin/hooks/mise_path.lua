-- MisePath: envshim adds nothing to PATH (mise's own `_.path` does that).
function PLUGIN:MisePath(ctx)
    return {}
end
