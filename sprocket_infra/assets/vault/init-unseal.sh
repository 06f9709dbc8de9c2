#!/bin/sh
# init-unseal.sh - entrypoint of Sprocket's Vault container: start the server, initialize it exactly once,
# and unseal it with the locally stored keys on every start.
#
# Shamir-sealed Vault/OpenBao comes up sealed after every restart. Without this script someone has to type
# three unseal keys after each node reboot or service update, so the stack stays down until a human
# notices. The keys live on a node-local bind mount (VAULT_KEYS_DIR), never in Terraform state, never in
# the log pipeline.
#
# Usage:
#   init-unseal.sh serve    Container entrypoint. Starts "$VAULT_BIN server -config=$VAULT_CONFIG" in the
#                           background, initializes/unseals it, then waits on the server, forwards
#                           SIGTERM/SIGINT to it and exits with its status. If initializing or unsealing
#                           fails, the server is stopped and the script exits non-zero, so the orchestrator
#                           shows a failed task instead of a silently sealed Vault.
#   init-unseal.sh unseal   Only initialize/unseal an already running server; exit 0 once it is unsealed.
#
# Environment (the cdktf construct sets these; the names are a contract):
#   VAULT_BIN            CLI/server binary: "vault" (hashicorp/vault) or "bao" (openbao/openbao); may be an
#                        absolute path. Default: vault
#   VAULT_ADDR           Address the script talks to. Also exported as BAO_ADDR, because bao prefers
#                        BAO_ADDR over VAULT_ADDR. Default: http://127.0.0.1:8200
#   VAULT_CONFIG         Server config file (serve mode only). Default: /vault/config/vault.hcl
#   VAULT_KEYS_DIR       Where the unseal keys and the root token are kept. Default: /vault/keys
#   VAULT_KEY_SHARES     Number of unseal key shares created at initialization. Default: 5
#   VAULT_KEY_THRESHOLD  Shares needed to unseal, set at initialization. Default: 3
#   VAULT_WAIT_SECONDS   How long to wait for the server to answer before giving up. Default: 60
#
# Files in VAULT_KEYS_DIR (directory 0700, files 0600, each written to a temp file and renamed into place):
#   unseal-keys          One base64 unseal key per line. Its presence means "this storage is initialized".
#   root-token           The initial root token. Revoke it once real auth methods are configured.
#   .init-lock/          Held while one copy initializes, so two copies never race to initialize.
#
# Guarantees:
#   - Initializes only when the server itself says it is not initialized; never re-initializes.
#   - An initialized server without a local key file is an error that needs a human (restore the keys
#     from backup); the script never touches storage in that case.
#   - Keys and the root token are never printed; they only travel through shell builtins and pipes, never
#     through command-line arguments, so they do not show up in `ps` either.
#   - Every wait is bounded; wrong keys fail after one pass (plus one retry after resetting progress).
#
# POSIX sh only: it must run under dash and busybox ash, the shells the Vault/OpenBao images ship.

set -u

VAULT_BIN="${VAULT_BIN:-vault}"
VAULT_ADDR="${VAULT_ADDR:-http://127.0.0.1:8200}"
VAULT_CONFIG="${VAULT_CONFIG:-/vault/config/vault.hcl}"
VAULT_KEYS_DIR="${VAULT_KEYS_DIR:-/vault/keys}"
VAULT_KEY_SHARES="${VAULT_KEY_SHARES:-5}"
VAULT_KEY_THRESHOLD="${VAULT_KEY_THRESHOLD:-3}"
VAULT_WAIT_SECONDS="${VAULT_WAIT_SECONDS:-60}"

# bao reads BAO_ADDR first and only falls back to VAULT_ADDR; pin both so the contract variable wins even
# if the image sets BAO_ADDR to something else.
BAO_ADDR="$VAULT_ADDR"
export VAULT_ADDR BAO_ADDR

KEYS_FILE="$VAULT_KEYS_DIR/unseal-keys"
TOKEN_FILE="$VAULT_KEYS_DIR/root-token"
UNPARSED_FILE="$VAULT_KEYS_DIR/init-response.unparsed"
LOCK_DIR="$VAULT_KEYS_DIR/.init-lock"
# `operator init` is bounded by the CLI's 60 s client timeout; a lock older than this has a dead holder.
LOCK_STALE_SECONDS=120
# A lock directory whose owner record never appeared was left by a copy that died right after mkdir.
LOCK_OWNERLESS_STALE_SECONDS=10
# Per-request timeout for status polls, so one hung request cannot eat the whole bounded wait.
STATUS_TIMEOUT=10s
STOP_GRACE_SECONDS=20

ORIG_UMASK=$(umask)
umask 077

MODE="${1:-}"
SERVER_PID=""
PHASE=setup
LOCK_HELD=0
HOST=$(uname -n 2>/dev/null || echo unknown)

log() {
    printf 'init-unseal: %s\n' "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

now() {
    date +%s
}

# Short pause between polls; busybox builds without fractional sleep fall back to one second.
nap() {
    sleep 0.2 2>/dev/null || sleep 1
}

is_count() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
        *) [ "$1" -gt 0 ] ;;
    esac
}

# Extract a scalar JSON field from a compact JSON text (no whitespace) passed on stdin.
json_field() {
    sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

compact() {
    tr -d ' \t\r\n'
}

# The "* message" lines of a Vault API error: the useful part, and never an echo of a submitted key.
api_errors() {
    sed -n 's/^\* //p' | tr '\n' ' ' | sed 's/ *$//'
}

# True while process $1 runs. An exited child stays a zombie until we `wait` for it and kill -0 still
# succeeds on zombies, so read the state from /proc where there is one (always, in a Linux container).
pid_running() {
    if [ -r "/proc/$1/stat" ]; then
        pr_state=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)
        [ -n "$pr_state" ] && [ "$pr_state" != Z ]
        return
    fi
    kill -0 "$1" 2>/dev/null
}

server_alive() {
    [ -n "$SERVER_PID" ] && pid_running "$SERVER_PID"
}

# Stop the server we started: SIGTERM, bounded grace period, then SIGKILL; always reap it.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if server_alive; then
        kill -s TERM "$SERVER_PID" 2>/dev/null
        stop_deadline=$(($(now) + STOP_GRACE_SECONDS))
        while server_alive && [ "$(now)" -lt "$stop_deadline" ]; do
            nap
        done
        server_alive && kill -s KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# Remove the lock only if it is still ours: after a stale-lock break race it may belong to another copy.
release_lock() {
    if [ "$LOCK_HELD" = 1 ]; then
        if grep -qx "pid=$$" "$LOCK_DIR/owner" 2>/dev/null && grep -qx "host=$HOST" "$LOCK_DIR/owner"; then
            rm -rf "$LOCK_DIR"
        fi
        LOCK_HELD=0
    fi
}

on_exit() {
    status=$?
    release_lock
    if [ "$PHASE" = setup ]; then
        stop_server
    fi
    exit "$status"
}

on_signal() {
    sig=$1
    if [ "$PHASE" = running ]; then
        # The server decides how to shut down; we keep waiting for it and exit with its status.
        [ -n "$SERVER_PID" ] && kill -s "$sig" "$SERVER_PID" 2>/dev/null
        return 0
    fi
    log "received SIG$sig before the server was unsealed; stopping"
    case "$sig" in
        INT) exit 130 ;;
        *) exit 143 ;;
    esac
}

# Sets ST_RC (0 unsealed, 2 sealed, 1 error), ST_INITIALIZED, ST_SEALED, ST_T and ST_ERR.
read_status() {
    st_out=$(VAULT_CLIENT_TIMEOUT=$STATUS_TIMEOUT BAO_CLIENT_TIMEOUT=$STATUS_TIMEOUT \
        "$VAULT_BIN" status -format=json 2>&1)
    ST_RC=$?
    st_flat=$(printf '%s' "$st_out" | compact)
    ST_INITIALIZED=$(printf '%s' "$st_flat" | json_field initialized)
    ST_SEALED=$(printf '%s' "$st_flat" | json_field sealed)
    ST_T=$(printf '%s' "$st_flat" | json_field t)
    ST_ERR=""
    if [ "$ST_RC" != 0 ] && [ "$ST_RC" != 2 ]; then
        ST_ERR=$(printf '%s\n' "$st_out" | grep -v '^[[:space:]]*$' | tail -n 1)
    elif [ -z "$ST_INITIALIZED" ] || [ -z "$ST_SEALED" ]; then
        # Answered, but not with a seal status we understand: treat like "not answering yet".
        ST_RC=1
        ST_ERR="unexpected status output"
    fi
}

# Poll until the server answers (sealed or unsealed) or VAULT_WAIT_SECONDS pass.
wait_for_server() {
    wait_deadline=$(($(now) + VAULT_WAIT_SECONDS))
    while :; do
        read_status
        case "$ST_RC" in
            0 | 2) return 0 ;;
        esac
        if [ -n "$SERVER_PID" ] && ! server_alive; then
            wait "$SERVER_PID"
            server_status=$?
            SERVER_PID=""
            die "$VAULT_BIN server exited with status $server_status before answering at $VAULT_ADDR"
        fi
        if [ "$(now)" -gt "$wait_deadline" ]; then
            die "no answer from $VAULT_ADDR after ${VAULT_WAIT_SECONDS}s (last error: ${ST_ERR:-none})"
        fi
        nap
    done
}

# Write $2 to file $1 atomically: a temp file in the same directory, then rename. umask 077 makes it 0600.
# printf is a shell builtin, so the secret never appears in any process's argument list.
write_secret() {
    ws_tmp="$1.tmp.$$"
    if ! printf '%s\n' "$2" >"$ws_tmp"; then
        rm -f "$ws_tmp"
        return 1
    fi
    chmod 600 "$ws_tmp" 2>/dev/null
    sync 2>/dev/null
    mv -f "$ws_tmp" "$1"
}

prepare_keys_dir() {
    mkdir -p "$VAULT_KEYS_DIR" || die "cannot create $VAULT_KEYS_DIR"
    chmod 700 "$VAULT_KEYS_DIR" || die "cannot make $VAULT_KEYS_DIR private (chmod 700)"
}

# Returns 0 if the init lock is stale: its owner process on this host is gone, it is older than any
# initialization can take, or its owner record never appeared.
lock_is_stale() {
    owner=$(cat "$LOCK_DIR/owner" 2>/dev/null) || owner=""
    if [ -z "$owner" ]; then
        [ -d "$LOCK_DIR" ] || return 1
        [ -n "$OWNERLESS_SINCE" ] || OWNERLESS_SINCE=$(now)
        [ $(($(now) - OWNERLESS_SINCE)) -ge "$LOCK_OWNERLESS_STALE_SECONDS" ]
        return
    fi
    OWNERLESS_SINCE=""
    owner_host=$(printf '%s\n' "$owner" | sed -n 's/^host=//p')
    owner_pid=$(printf '%s\n' "$owner" | sed -n 's/^pid=//p')
    owner_since=$(printf '%s\n' "$owner" | sed -n 's/^since=//p')
    if [ "$owner_host" = "$HOST" ] && is_count "$owner_pid"; then
        # Same host (same container): a dead PID, or our own PID from a previous life of this container.
        if [ "$owner_pid" = "$$" ] || ! pid_running "$owner_pid"; then
            return 0
        fi
    fi
    is_count "$owner_since" || return 1
    [ $(($(now) - owner_since)) -ge "$LOCK_STALE_SECONDS" ]
}

# One attempt to take the init lock. mkdir is atomic on every filesystem we care about.
try_lock() {
    if mkdir "$LOCK_DIR" 2>/dev/null; then
        LOCK_HELD=1
        printf 'host=%s\npid=%s\nsince=%s\n' "$HOST" "$$" "$(now)" >"$LOCK_DIR/owner"
        return 0
    fi
    if lock_is_stale; then
        stale_owner=$(tr '\n' ' ' 2>/dev/null <"$LOCK_DIR/owner") || stale_owner=""
        log "removing stale init lock $LOCK_DIR (${stale_owner:-no owner record})"
        rm -rf "$LOCK_DIR"
        OWNERLESS_SINCE=""
    fi
    return 1
}

leftovers_hint() {
    found=""
    for f in "$KEYS_FILE".tmp.* "$UNPARSED_FILE"; do
        [ -e "$f" ] && found="$found $f"
    done
    [ -n "$found" ] && printf ' (leftovers of an interrupted initialization that may hold them:%s)' "$found"
}

# Run `operator init`. Returns 0 when we initialized and stored the keys, 2 when the server was already
# initialized (another copy won), and dies on anything else.
initialize() {
    init_out=$("$VAULT_BIN" operator init -key-shares="$VAULT_KEY_SHARES" \
        -key-threshold="$VAULT_KEY_THRESHOLD" -format=json 2>&1)
    init_rc=$?
    if [ "$init_rc" != 0 ]; then
        # On failure the output is an error message, which holds no key material.
        case "$init_out" in
            *"already initialized"*) return 2 ;;
        esac
        init_err=$(printf '%s\n' "$init_out" | api_errors)
        [ -n "$init_err" ] || init_err=$(printf '%s\n' "$init_out" | tail -n 1)
        die "operator init against $VAULT_ADDR failed: $init_err"
    fi

    init_flat=$(printf '%s' "$init_out" | compact)
    init_keys=$(printf '%s' "$init_flat" | sed -n 's/.*"unseal_keys_b64":\[\([^]]*\)\].*/\1/p' |
        tr ',' '\n' | tr -d '"')
    init_token=$(printf '%s' "$init_flat" | json_field root_token)
    init_count=$(printf '%s\n' "$init_keys" | grep -c .)
    if [ "$init_count" != "$VAULT_KEY_SHARES" ] || [ -z "$init_token" ]; then
        # The server is initialized now and this output is the only copy of the keys: keep it, privately.
        write_secret "$UNPARSED_FILE" "$init_out"
        die "initialized $VAULT_ADDR but could not parse the keys from the response ($init_count of" \
            "$VAULT_KEY_SHARES found); the raw response is in $UNPARSED_FILE (mode 0600)"
    fi
    # Token first: the key file is the "initialization finished" marker other copies wait for.
    write_secret "$TOKEN_FILE" "$init_token" || die "initialized but could not write $TOKEN_FILE"
    write_secret "$KEYS_FILE" "$init_keys" || die "initialized but could not write $KEYS_FILE"
    log "initialized with $VAULT_KEY_SHARES shares, threshold $VAULT_KEY_THRESHOLD; keys stored in" \
        "$VAULT_KEYS_DIR"
    return 0
}

# Make sure the server is initialized and the keys are on disk, initializing it ourselves if nobody has.
ensure_initialized() {
    # The lock holder needs at most LOCK_STALE_SECONDS; give waiters that plus the normal wait.
    phase_deadline=$(($(now) + VAULT_WAIT_SECONDS + LOCK_STALE_SECONDS))
    OWNERLESS_SINCE=""
    race_deadline=""
    waiting_logged=0
    while :; do
        if [ "$ST_INITIALIZED" = true ]; then
            [ -s "$KEYS_FILE" ] && return 0
            if [ -n "$race_deadline" ]; then
                # The server said "already initialized" to us: the winner is about to store its keys.
                if [ "$(now)" -gt "$race_deadline" ]; then
                    die "$VAULT_ADDR was initialized by someone else, and no unseal keys appeared at" \
                        "$KEYS_FILE within ${VAULT_WAIT_SECONDS}s: was it initialized with another keys" \
                        "directory? Storage was not touched"
                fi
            elif [ ! -d "$LOCK_DIR" ] || lock_is_stale; then
                die "$VAULT_ADDR is initialized but no unseal keys at $KEYS_FILE: restore them from" \
                    "backup$(leftovers_hint); storage was not touched"
            fi
            # Otherwise another copy holds the lock: it is between `operator init` and storing the keys.
        else
            prepare_keys_dir
            if try_lock; then
                read_status
                if [ "$ST_RC" != 1 ] && [ "$ST_INITIALIZED" != true ]; then
                    initialize
                    init_result=$?
                    release_lock
                    [ "$init_result" = 0 ] && return 0
                    log "$VAULT_ADDR was initialized by someone else meanwhile; waiting for $KEYS_FILE"
                    race_deadline=$(($(now) + VAULT_WAIT_SECONDS))
                else
                    release_lock
                fi
            elif [ "$waiting_logged" = 0 ]; then
                log "another copy is initializing $VAULT_ADDR (lock $LOCK_DIR); waiting for it"
                waiting_logged=1
            fi
        fi
        if [ "$(now)" -gt "$phase_deadline" ]; then
            die "gave up waiting for initialization of $VAULT_ADDR by another copy (lock $LOCK_DIR," \
                "keys $KEYS_FILE)"
        fi
        nap
        wait_for_server
    done
}

# Submit every stored key once (the server ignores shares it already has) until it reports sealed=false.
unseal_pass() {
    while IFS= read -r key || [ -n "$key" ]; do
        [ -n "$key" ] || continue
        # `write sys/unseal key=-` reads the key from stdin, unlike `operator unseal` which wants it in argv.
        us_out=$(printf '%s\n' "$key" | "$VAULT_BIN" write -format=json sys/unseal key=- 2>&1)
        us_rc=$?
        if [ "$us_rc" = 0 ]; then
            if [ "$(printf '%s' "$us_out" | compact | json_field sealed)" = false ]; then
                return 0
            fi
        else
            UNSEAL_ERR=$(printf '%s\n' "$us_out" | api_errors)
            [ -n "$UNSEAL_ERR" ] || UNSEAL_ERR="$VAULT_BIN write sys/unseal exited with status $us_rc"
        fi
    done <"$KEYS_FILE"
    read_status
    [ "$ST_RC" = 0 ]
}

unseal() {
    [ -r "$KEYS_FILE" ] || die "cannot read unseal keys at $KEYS_FILE"
    key_count=$(grep -c . "$KEYS_FILE")
    if is_count "$ST_T" && [ "$key_count" -lt "$ST_T" ]; then
        die "$KEYS_FILE holds $key_count keys but $VAULT_ADDR needs $ST_T to unseal"
    fi
    UNSEAL_ERR=""
    unseal_pass && {
        log "unsealed $VAULT_ADDR with the keys in $VAULT_KEYS_DIR"
        return 0
    }
    # Progress left over from someone else's (wrong) share can make a good pass fail; reset and retry once.
    "$VAULT_BIN" operator unseal -reset >/dev/null 2>&1
    unseal_pass && {
        log "unsealed $VAULT_ADDR with the keys in $VAULT_KEYS_DIR after resetting unseal progress"
        return 0
    }
    die "the keys in $KEYS_FILE did not unseal $VAULT_ADDR (threshold ${ST_T:-?}, $key_count keys" \
        "tried; server said: ${UNSEAL_ERR:-still sealed}): are they the keys of this server's storage?"
}

init_and_unseal() {
    wait_for_server
    if [ "$ST_RC" = 0 ]; then
        log "$VAULT_ADDR is already unsealed; nothing to do"
        return 0
    fi
    ensure_initialized
    read_status
    [ "$ST_RC" = 0 ] && return 0
    unseal
}

check_settings() {
    command -v "$VAULT_BIN" >/dev/null 2>&1 || die "VAULT_BIN=$VAULT_BIN is not an executable on PATH"
    is_count "$VAULT_KEY_SHARES" || die "VAULT_KEY_SHARES must be a positive integer, got '$VAULT_KEY_SHARES'"
    is_count "$VAULT_KEY_THRESHOLD" ||
        die "VAULT_KEY_THRESHOLD must be a positive integer, got '$VAULT_KEY_THRESHOLD'"
    [ "$VAULT_KEY_THRESHOLD" -le "$VAULT_KEY_SHARES" ] ||
        die "VAULT_KEY_THRESHOLD ($VAULT_KEY_THRESHOLD) exceeds VAULT_KEY_SHARES ($VAULT_KEY_SHARES)"
    is_count "$VAULT_WAIT_SECONDS" ||
        die "VAULT_WAIT_SECONDS must be a positive integer, got '$VAULT_WAIT_SECONDS'"
}

serve() {
    [ -r "$VAULT_CONFIG" ] || die "cannot read server config $VAULT_CONFIG"
    # The server gets the container's original umask; only our key files need 077.
    (
        umask "$ORIG_UMASK"
        exec "$VAULT_BIN" server -config="$VAULT_CONFIG"
    ) &
    SERVER_PID=$!
    init_and_unseal
    PHASE=running
    while :; do
        wait "$SERVER_PID"
        server_status=$?
        # wait returns early (status > 128) when a trapped signal arrives; keep waiting until the server
        # has really exited. kill -0 also succeeds on an exited child that wait has not reaped yet.
        kill -0 "$SERVER_PID" 2>/dev/null || break
    done
    SERVER_PID=""
    log "$VAULT_BIN server exited with status $server_status"
    exit "$server_status"
}

trap on_exit EXIT
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

case "$MODE" in
    serve)
        check_settings
        serve
        ;;
    unseal)
        check_settings
        init_and_unseal
        ;;
    *)
        log "usage: $0 serve|unseal (see the header of this script for the environment it reads)"
        exit 64
        ;;
esac
