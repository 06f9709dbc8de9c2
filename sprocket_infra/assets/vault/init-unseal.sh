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
#   VAULT_CONFIG         Server config file. serve mode starts the server with it; both modes read its
#                        storage stanza to name the storage in messages. Default: /vault/config/vault.hcl
#   VAULT_KEYS_DIR       Where the unseal keys and the root token are kept. Default: /vault/keys
#   VAULT_KEY_SHARES     Number of unseal key shares created at initialization. Default: 5
#   VAULT_KEY_THRESHOLD  Shares needed to unseal, set at initialization. Default: 3
#   VAULT_WAIT_SECONDS   How long to wait for the server to answer before giving up. Default: 60
#   VAULT_SEAL_KIND      shamir-file (default): unseal from the key shares in VAULT_KEYS_DIR. transit or
#                        awskms: the server unseals itself through the seal stanza of VAULT_CONFIG; the
#                        script initializes with recovery keys (VAULT_KEY_SHARES/THRESHOLD then count
#                        recovery shares), keeps nothing on disk that unseals, and never submits a key.
#   VAULT_NODE_ROLE      bootstrap (default): this node may initialize the storage when nobody has.
#                        join: a raft node that only joins (through the retry_join blocks of VAULT_CONFIG)
#                        and must never initialize; needs an auto seal.
#   VAULT_JOIN_WAIT_SECONDS
#                        How long a node that waits to join a cluster (or for its seal to unseal it) keeps
#                        waiting before it gives up and lets the orchestrator restart it. Default: 300
#   VAULT_ROOT_TOKEN_POLL_SECONDS
#                        serve mode: how often to ask whether the root token in VAULT_KEYS_DIR still works,
#                        until it is revoked and the file deleted. Default: 30
#   VAULT_SEAL_TOKEN_FILE
#                        transit only: a file holding the token for the transit server. Its content reaches
#                        the server process alone, as VAULT_TOKEN/BAO_TOKEN; never the CLI calls here.
#
# Files in VAULT_KEYS_DIR (directory 0700, files 0600, each flushed to disk and renamed into place):
#   unseal-keys          One base64 unseal key per line. Its presence means "this storage is initialized".
#   root-token           The initial root token, handed out once: `sprocket-infra vault bootstrap` uses it to
#                        make the vault-admin deploy identity and revokes it. In serve mode the script asks
#                        Vault every VAULT_ROOT_TOKEN_POLL_SECONDS whether the token still works and deletes
#                        the file once Vault refuses it, so after the first configuration the directory holds
#                        only what unsealing needs.
#   init-in-progress     Journal: written (and flushed) before `operator init` is sent, removed once the
#                        keys are on disk. Finding it later means an initialization was interrupted.
#   init-response.json   The raw `operator init` response. The CLI writes it straight into
#                        init-response.json.tmp; it is flushed and renamed before anything parses it, and
#                        removed once unseal-keys and root-token, which are derived from it, are on disk.
#   init-response.json.abandoned-<epoch>
#                        A partial response of an abandoned initialization (see below), kept just in case.
#   .init-lock/          Held while one copy initializes, so two copies never race to initialize.
# With an auto seal, recovery-keys takes the place of unseal-keys (it cannot unseal anything; move it and
# root-token offline), and one more file exists:
#   cluster-initialized  Not secret: written once this node has been unsealed as part of an initialized
#                        storage. A node that finds it next to an empty storage never initializes (that
#                        would start a second, empty cluster): it waits to join, then fails loudly.
#
# Guarantees:
#   - The unseal keys are on disk before anything else happens with them. Every copy of them that ever
#     existed outside the server is a file in VAULT_KEYS_DIR, so a crash, kill -9 or full disk at any
#     instant leaves either the keys on disk or a storage that never held data.
#   - Initializes only when the server itself says it is not initialized, and never while a key file or an
#     unparsed init response exists: existing keys are never overwritten.
#   - Before initializing, proves VAULT_KEYS_DIR is writable and has room; otherwise the server is not
#     touched.
#   - A stop signal that arrives while `operator init` runs is acted on once the response is on disk.
#   - An initialization interrupted before its keys reached disk leaves a storage that holds no data (nobody
#     ever had its keys or root token). The journal proves that; in serve mode with raft storage the
#     script sets that raft data aside (it never deletes it) and initializes again. Anywhere else it stops
#     and names the exact recovery step.
#   - An initialized server without local keys, or local keys without an initialized server, is an error
#     that needs a human; the message names the storage and the key file, and storage is not touched.
#   - Keys the server rejects are skipped (naming the line) as long as enough remain for the threshold.
#   - Keys and the root token are never printed; they only travel through files, shell builtins and pipes,
#     never through command-line arguments, so they do not show up in `ps` either.
#   - Every wait is bounded.
#   - With an auto seal, nothing on disk unseals the server, no unseal key is ever submitted, a joining
#     node never initializes, and a bootstrap node does not initialize while any retry_join peer reports
#     an initialized storage: it joins that cluster instead.
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
VAULT_SEAL_KIND="${VAULT_SEAL_KIND:-shamir-file}"
VAULT_NODE_ROLE="${VAULT_NODE_ROLE:-bootstrap}"
VAULT_JOIN_WAIT_SECONDS="${VAULT_JOIN_WAIT_SECONDS:-300}"
VAULT_SEAL_TOKEN_FILE="${VAULT_SEAL_TOKEN_FILE:-}"
VAULT_ROOT_TOKEN_POLL_SECONDS="${VAULT_ROOT_TOKEN_POLL_SECONDS:-30}"
AUTO_SEAL=0
[ "$VAULT_SEAL_KIND" = shamir-file ] || AUTO_SEAL=1

# bao reads BAO_ADDR first and only falls back to VAULT_ADDR; pin both so the contract variable wins even
# if the image sets BAO_ADDR to something else.
BAO_ADDR="$VAULT_ADDR"
export VAULT_ADDR BAO_ADDR

KEYS_FILE="$VAULT_KEYS_DIR/unseal-keys"
# What `operator init` hands back as key shares: unseal keys for Shamir, recovery keys for an auto seal.
RESPONSE_KEYS_FIELD=unseal_keys_b64
INIT_SHARES_FLAGS="-key-shares -key-threshold"
if [ "$AUTO_SEAL" = 1 ]; then
    KEYS_FILE="$VAULT_KEYS_DIR/recovery-keys"
    RESPONSE_KEYS_FIELD=recovery_keys_b64
    INIT_SHARES_FLAGS="-recovery-shares -recovery-threshold"
fi
CLUSTER_MARKER="$VAULT_KEYS_DIR/cluster-initialized"
TOKEN_FILE="$VAULT_KEYS_DIR/root-token"
JOURNAL_FILE="$VAULT_KEYS_DIR/init-in-progress"
RESPONSE_FILE="$VAULT_KEYS_DIR/init-response.json"
RESPONSE_TMP="$RESPONSE_FILE.tmp"
LOCK_DIR="$VAULT_KEYS_DIR/.init-lock"
# `operator init` is bounded by the CLI's 60 s client timeout; a lock older than this has a dead holder.
LOCK_STALE_SECONDS=120
# A lock directory whose owner record never appeared was left by a copy that died right after mkdir.
LOCK_OWNERLESS_STALE_SECONDS=10
# Per-request timeout for status polls, so one hung request cannot eat the whole bounded wait.
STATUS_TIMEOUT=10s
STOP_GRACE_SECONDS=20
# What the server answers about a storage whose initialization was cut short (OpenBao and Vault wording).
HALF_INIT_STATUS="barrier reports initialized but no seal configuration found"
RAFT_HAS_STATE="cluster already has state"

ORIG_UMASK=$(umask)
umask 077

MODE="${1:-}"
SERVER_PID=""
WATCHER_PID=""
PHASE=setup
LOCK_HELD=0
PENDING_SIGNAL=""
RESETS_DONE=0
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

# Pause between polls. Each poll starts the CLI, which costs ~0.15 s of CPU (a Go binary of 100+ MB), so
# polling faster would eat a core of a small node while the server boots. busybox builds without
# fractional sleep fall back to one second.
nap() {
    sleep 0.5 2>/dev/null || sleep 1
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

# Flush files (or directories, after a rename) to stable storage. coreutils and busybox >= 1.27 fsync just
# the named files; a `sync` without that feature flushes everything, which is slower but just as durable.
flush() {
    sync -- "$@" 2>/dev/null || sync
}

# The raft data directory from the server config, empty for any other storage.
raft_dir() {
    [ -r "$VAULT_CONFIG" ] || return 0
    sed -n '/^storage *"raft"/,/^}/s/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
        "$VAULT_CONFIG" | head -n 1
}

# A human-readable name of the storage behind the server, for messages that need a human.
describe_storage() {
    ds_raft=$(raft_dir)
    if [ -n "$ds_raft" ]; then
        printf 'raft storage in %s' "$ds_raft"
        return
    fi
    ds_s3=""
    [ -r "$VAULT_CONFIG" ] && ds_s3=$(sed -n '/^storage *"s3"/,/^}/{
        s/^[[:space:]]*bucket[[:space:]]*=[[:space:]]*"\([^"]*\)".*/bucket \1/p
        s/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\([^"]*\)".*/path \1/p
    }' "$VAULT_CONFIG" | tr '\n' ' ' | sed 's/ *$//')
    if [ -n "$ds_s3" ]; then
        printf 'S3 storage (%s)' "$ds_s3"
    else
        printf 'the storage behind %s' "$VAULT_ADDR"
    fi
}

# The retry_join peers (leader_api_addr) of the raft stanza, one per line; empty for a single node.
raft_peers() {
    [ -r "$VAULT_CONFIG" ] || return 0
    sed -n 's/^[[:space:]]*leader_api_addr[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$VAULT_CONFIG"
}

# The seal named in messages: its kind and what the config points it at.
describe_seal() {
    dz_where=""
    [ -r "$VAULT_CONFIG" ] && dz_where=$(sed -n "/^seal *\"$VAULT_SEAL_KIND\"/,/^}/{
        s/^[[:space:]]*address[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/at \1/p
        s/^[[:space:]]*key_name[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/key \1/p
        s/^[[:space:]]*kms_key_id[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/key \1/p
        s/^[[:space:]]*region[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/in \1/p
    }" "$VAULT_CONFIG" | tr '\n' ' ' | sed 's/ *$//')
    printf 'the %s seal%s' "$VAULT_SEAL_KIND" "${dz_where:+ ($dz_where)}"
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

start_server() {
    # The server gets the container's original umask; only our key files need 077.
    (
        umask "$ORIG_UMASK"
        if [ -n "$VAULT_SEAL_TOKEN_FILE" ]; then
            # Read by the shell builtin, exported to the server only: never an argument, never logged.
            IFS= read -r VAULT_TOKEN <"$VAULT_SEAL_TOKEN_FILE" || [ -n "${VAULT_TOKEN:-}" ]
            BAO_TOKEN=$VAULT_TOKEN
            export VAULT_TOKEN BAO_TOKEN
        fi
        exec "$VAULT_BIN" server -config="$VAULT_CONFIG"
    ) &
    SERVER_PID=$!
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
    if [ -n "$WATCHER_PID" ]; then
        kill "$WATCHER_PID" 2>/dev/null
        wait "$WATCHER_PID" 2>/dev/null
    fi
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

# From the journal until the keys are on disk a stop signal is only remembered: the shell runs a trap after
# the foreground command (`operator init`) finishes, and the handler must not exit before the response is
# stored. `docker stop` signals only PID 1, this script, so the CLI itself keeps running meanwhile.
defer_signals() {
    trap 'PENDING_SIGNAL=TERM' TERM
    trap 'PENDING_SIGNAL=INT' INT
}

resume_signals() {
    trap 'on_signal TERM' TERM
    trap 'on_signal INT' INT
    if [ -n "$PENDING_SIGNAL" ]; then
        log "SIG$PENDING_SIGNAL arrived during initialization; acting on it now that the keys are on disk"
        on_signal "$PENDING_SIGNAL"
    fi
}

# Sets ST_RC (0 unsealed, 2 sealed, 3 half-initialized storage, 1 error), ST_INITIALIZED, ST_SEALED, ST_T
# and ST_ERR.
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
        case "$st_out" in
            *"$HALF_INIT_STATUS"*) ST_RC=3 ;;
        esac
    elif [ -z "$ST_INITIALIZED" ] || [ -z "$ST_SEALED" ]; then
        # Answered, but not with a seal status we understand: treat like "not answering yet".
        ST_RC=1
        ST_ERR="unexpected status output"
    fi
}

# Poll until the server answers (sealed, unsealed or half-initialized) or VAULT_WAIT_SECONDS pass.
wait_for_server() {
    wait_deadline=$(($(now) + VAULT_WAIT_SECONDS))
    while :; do
        read_status
        case "$ST_RC" in
            0 | 2 | 3) return 0 ;;
        esac
        if [ -n "$SERVER_PID" ] && ! server_alive; then
            wait "$SERVER_PID"
            server_status=$?
            SERVER_PID=""
            ws_hint=""
            [ "$AUTO_SEAL" = 1 ] && ws_hint=". It unseals through $(describe_seal): is that reachable, and its"
            [ "$AUTO_SEAL" = 1 ] && ws_hint="$ws_hint token or credentials valid? (the server's own error is above)"
            die "$VAULT_BIN server exited with status $server_status before answering at $VAULT_ADDR$ws_hint"
        fi
        if [ "$(now)" -gt "$wait_deadline" ]; then
            die "no answer from $VAULT_ADDR after ${VAULT_WAIT_SECONDS}s (last error: ${ST_ERR:-none})"
        fi
        nap
    done
}

# Move $1 into place as $2 and make the rename itself durable.
commit_file() {
    flush "$1" && mv -f "$1" "$2" && flush "$VAULT_KEYS_DIR"
}

# Write $2 to file $1 durably: a flushed temp file in the same directory, then rename. umask 077 makes it
# 0600. printf is a shell builtin, so the secret never appears in any process's argument list.
write_secret() {
    ws_tmp="$1.tmp.$$"
    if ! printf '%s\n' "$2" >"$ws_tmp" || ! commit_file "$ws_tmp" "$1"; then
        rm -f "$ws_tmp"
        return 1
    fi
}

# Prove that VAULT_KEYS_DIR can take an init response before the server is asked for one: write, flush and
# remove a file at least as large as the response (about 180 bytes per share plus the token, as JSON).
preflight() {
    mkdir -p "$VAULT_KEYS_DIR" 2>/dev/null ||
        die "cannot create $VAULT_KEYS_DIR; $VAULT_ADDR was not touched"
    chmod 700 "$VAULT_KEYS_DIR" 2>/dev/null ||
        die "cannot make $VAULT_KEYS_DIR private (chmod 700): is it read-only or owned by someone else?" \
            "$VAULT_ADDR was not touched"
    pf_size=$((1024 + 256 * VAULT_KEY_SHARES))
    pf_file="$VAULT_KEYS_DIR/.preflight.$$"
    if dd if=/dev/zero of="$pf_file" bs="$pf_size" count=1 2>/dev/null && flush "$pf_file" &&
        [ "$(($(wc -c <"$pf_file")))" = "$pf_size" ]; then
        rm -f "$pf_file"
        return 0
    fi
    rm -f "$pf_file"
    die "cannot store an init response in $VAULT_KEYS_DIR: writing and flushing a $pf_size-byte test file" \
        "failed (disk full or directory not writable?); $VAULT_ADDR was not touched"
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

take_lock_dir() {
    mkdir "$LOCK_DIR" 2>/dev/null || return 1
    LOCK_HELD=1
    printf 'host=%s\npid=%s\nsince=%s\n' "$HOST" "$$" "$(now)" >"$LOCK_DIR/owner"
}

# One attempt to take the init lock, breaking it first if it is stale. mkdir is atomic on every filesystem
# we care about.
try_lock() {
    take_lock_dir && return 0
    lock_is_stale || return 1
    stale_owner=$(tr '\n' ' ' 2>/dev/null <"$LOCK_DIR/owner") || stale_owner=""
    log "removing stale init lock $LOCK_DIR (${stale_owner:-no owner record})"
    rm -rf "$LOCK_DIR"
    OWNERLESS_SINCE=""
    take_lock_dir
}

# Parse init response file $1 into RS_KEYS (one key per line) and RS_TOKEN; fails unless it is complete.
parse_response() {
    RS_COUNT=0
    rs_flat=$(compact <"$1" 2>/dev/null) || return 1
    RS_KEYS=$(printf '%s' "$rs_flat" | sed -n "s/.*\"$RESPONSE_KEYS_FIELD\":\\[\\([^]]*\\)\\].*/\\1/p" |
        tr ',' '\n' | tr -d '"')
    RS_TOKEN=$(printf '%s' "$rs_flat" | json_field root_token)
    RS_COUNT=$(printf '%s\n' "$RS_KEYS" | grep -c .)
    [ "$RS_COUNT" -gt 0 ] && [ -n "$RS_TOKEN" ] && [ "$(printf '%s' "$rs_flat" | tail -c 1)" = "}" ]
}

# Turn the durable init response into root-token and unseal-keys, then drop it and the journal. Idempotent,
# so a crash at any point of it is repaired by the next start.
derive_from_response() {
    parse_response "$RESPONSE_FILE" ||
        die "$RESPONSE_FILE holds an init response that cannot be parsed ($RS_COUNT keys found): it is the" \
            "only copy of the keys of $(describe_storage); recover them from it by hand (mode 0600)"
    if [ -s "$KEYS_FILE" ]; then
        if [ "$(cat "$KEYS_FILE")" != "$RS_KEYS" ]; then
            die "$KEYS_FILE and the init response $RESPONSE_FILE hold different keys; one of them belongs to" \
                "another storage. Keep both offline, find out which unseals $(describe_storage), and leave" \
                "only that one as $KEYS_FILE"
        fi
    else
        # Token first: the key file is the "initialization finished" marker other copies wait for.
        write_secret "$TOKEN_FILE" "$RS_TOKEN" || die "cannot write $TOKEN_FILE; the keys stay in $RESPONSE_FILE"
        write_secret "$KEYS_FILE" "$RS_KEYS" || die "cannot write $KEYS_FILE; the keys stay in $RESPONSE_FILE"
    fi
    rm -f "$RESPONSE_FILE" "$JOURNAL_FILE"
    flush "$VAULT_KEYS_DIR"
}

# Finish what an interrupted copy left behind, in the order it would have: a complete response the CLI
# wrote before the rename, then the derivation. Only called while holding the lock, so nobody is writing.
recover_leftovers() {
    if [ -e "$RESPONSE_TMP" ] && [ ! -e "$RESPONSE_FILE" ]; then
        if parse_response "$RESPONSE_TMP"; then
            log "found the complete init response of an interrupted start in $RESPONSE_TMP; storing its keys"
            commit_file "$RESPONSE_TMP" "$RESPONSE_FILE" || die "cannot rename $RESPONSE_TMP"
        elif [ ! -s "$RESPONSE_TMP" ]; then
            # The shell creates the file when it starts the CLI; empty, it never held anything.
            rm -f "$RESPONSE_TMP"
        fi
        # A partial response stays where it is: the messages that follow list it as a leftover.
    fi
    if [ -e "$RESPONSE_FILE" ]; then
        derive_from_response
        log "recovered the keys of an interrupted initialization into $VAULT_KEYS_DIR"
    fi
}

# The storage was touched by an initialization whose keys never reached disk ($1 says what the server
# reports). With the journal as proof that it was ours and never answered, nobody ever had its keys or
# root token, so it holds no data. serve mode on raft sets the data aside and starts over; anywhere else
# a human does the same by hand.
abandoned_init() {
    ab_storage=$(describe_storage)
    if [ ! -e "$JOURNAL_FILE" ]; then
        die "$ab_storage: $1, and $KEYS_FILE does not exist$(leftovers_hint). No journal of an interrupted" \
            "initialization by this script exists, so the storage may hold data: restore the keys from" \
            "backup. Storage was not touched"
    fi
    ab_since=$(sed -n 's/^started=//p' "$JOURNAL_FILE" 2>/dev/null)
    ab_raft=$(raft_dir)
    ab_step="stop Vault, move everything in $ab_raft into a backup directory, delete $JOURNAL_FILE"
    if [ -z "$ab_raft" ]; then
        ab_step="stop Vault, point its storage at a new, empty location (or move the objects of $ab_storage"
        ab_step="$ab_step aside), delete $JOURNAL_FILE"
    fi
    ab_what="$ab_storage: $1. The initialization started at ${ab_since:-?} (journal $JOURNAL_FILE) was"
    ab_what="$ab_what interrupted before its keys reached disk, so this storage holds no data"
    if [ "$MODE" != serve ] || [ -z "$ab_raft" ] || [ "$RESETS_DONE" != 0 ]; then
        die "$ab_what. Recovery: $ab_step, and start Vault again; it initializes afresh"
    fi
    ab_aside="$ab_raft/abandoned-init-$(now)"
    log "$ab_what; setting it aside in $ab_aside and initializing again"
    stop_server
    mkdir -p "$ab_aside" || die "cannot create $ab_aside. Recovery: $ab_step, and start Vault again"
    for ab_entry in "$ab_raft"/* "$ab_raft"/.[!.]*; do
        case "$ab_entry" in
            "$ab_aside" | "$ab_raft"/abandoned-init-*) continue ;;
        esac
        [ -e "$ab_entry" ] || continue
        mv "$ab_entry" "$ab_aside/" || die "cannot move $ab_entry aside. Recovery: $ab_step, and start again"
    done
    # A partial response of the abandoned init is kept (privately), in case it holds enough of its keys.
    [ -s "$RESPONSE_TMP" ] && mv -f "$RESPONSE_TMP" "$RESPONSE_FILE.abandoned-$(now)"
    rm -f "$JOURNAL_FILE" "$RESPONSE_TMP"
    flush "$ab_raft" "$VAULT_KEYS_DIR"
    RESETS_DONE=1
    start_server
    wait_for_server
}

leftovers_hint() {
    found=""
    for f in "$KEYS_FILE".tmp.* "$RESPONSE_TMP" "$RESPONSE_FILE"; do
        [ -e "$f" ] && found="$found $f"
    done
    [ -n "$found" ] && printf ' (leftovers of an interrupted initialization that may hold them:%s)' "$found"
}

# Run `operator init` with its response going straight to disk. Returns 0 when we initialized and stored
# the keys, 2 when the server was already initialized (another copy won), 3 when raft storage has state
# left by an earlier attempt, and dies on anything else.
initialize() {
    preflight
    defer_signals
    # An existing journal is kept as it is: it records the attempt that may have touched the storage.
    in_new_journal=0
    if [ ! -e "$JOURNAL_FILE" ]; then
        write_secret "$JOURNAL_FILE" "started=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
host=$HOST
addr=$VAULT_ADDR" || die "cannot write the journal $JOURNAL_FILE; $VAULT_ADDR was not touched"
        in_new_journal=1
    fi
    # stdout (the keys) goes only to the file; stderr (errors, never keys) is captured.
    set -- $INIT_SHARES_FLAGS
    init_err=$({ "$VAULT_BIN" operator init "$1=$VAULT_KEY_SHARES" "$2=$VAULT_KEY_THRESHOLD" \
        -format=json >"$RESPONSE_TMP"; } 2>&1)
    init_rc=$?
    if [ "$init_rc" != 0 ]; then
        rm -f "$RESPONSE_TMP"
        init_msg=$(printf '%s\n' "$init_err" | api_errors)
        if [ -z "$init_msg" ]; then
            # No answer from the server (connection lost, timeout): it may have initialized the storage
            # anyway, so the journal stays as the proof for the next start.
            die "operator init against $VAULT_ADDR got no answer ($(printf '%s\n' "$init_err" | tail -n 1));" \
                "the journal $JOURNAL_FILE stays, the next start resolves it"
        fi
        # The server answered with a refusal, so this attempt created no key.
        [ "$in_new_journal" = 1 ] && rm -f "$JOURNAL_FILE"
        resume_signals
        case "$init_msg" in
            *"already initialized"*) return 2 ;;
            *"$RAFT_HAS_STATE"*) return 3 ;;
        esac
        die "operator init against $VAULT_ADDR failed: $init_msg"
    fi
    commit_file "$RESPONSE_TMP" "$RESPONSE_FILE" ||
        die "initialized $VAULT_ADDR but cannot rename $RESPONSE_TMP, which holds the keys (mode 0600)"
    derive_from_response
    if [ "$AUTO_SEAL" = 1 ]; then
        log "initialized with $VAULT_KEY_SHARES recovery key shares, threshold $VAULT_KEY_THRESHOLD (they" \
            "cannot unseal; $(describe_seal) does): stored in $VAULT_KEYS_DIR, move them offline; the" \
            "root token waits there for \`sprocket-infra vault bootstrap\`"
    else
        log "initialized with $VAULT_KEY_SHARES shares, threshold $VAULT_KEY_THRESHOLD; keys stored in" \
            "$VAULT_KEYS_DIR; the root token waits in $TOKEN_FILE for \`sprocket-infra vault bootstrap\`"
    fi
    resume_signals
    return 0
}

# Decide, with the lock held, what a server needs when no local keys exist. Returns 0 once the keys are on
# disk (or, with an auto seal, once the storage is initialized), 1 to look again, 2 when another copy
# initialized it meanwhile, 4 when a raft peer is initialized and this node must join it instead.
initialize_locked() {
    recover_leftovers
    [ -s "$KEYS_FILE" ] && return 0
    read_status
    case "$ST_RC" in
        1) return 1 ;;
        3)
            abandoned_init "it reports \"$HALF_INIT_STATUS\""
            return 1
            ;;
    esac
    if [ "$ST_INITIALIZED" = true ]; then
        if [ -e "$JOURNAL_FILE" ]; then
            abandoned_init "it is initialized"
            return 1
        fi
        # An auto seal needs nothing from disk: somebody initialized it and the server unseals itself.
        [ "$AUTO_SEAL" = 1 ] && return 0
        die "$VAULT_ADDR is initialized but no unseal keys at $KEYS_FILE: restore them from" \
            "backup$(leftovers_hint); storage was not touched"
    fi
    if [ "$AUTO_SEAL" = 1 ] && peer_initialized; then
        log "$(describe_storage) is empty but peer $PEER is initialized; joining its cluster instead" \
            "of initializing a second one"
        return 4
    fi
    [ -e "$JOURNAL_FILE" ] && log "a previous initialization was interrupted (journal $JOURNAL_FILE); retrying"
    initialize
    case $? in
        0) return 0 ;;
        2) return 2 ;;
    esac
    if [ -e "$JOURNAL_FILE" ]; then
        abandoned_init "it is not initialized, but \`operator init\` answers \"$RAFT_HAS_STATE\""
        return 1
    fi
    die "$(describe_storage) is not initialized, but \`operator init\` answers \"$RAFT_HAS_STATE\" and no" \
        "journal of an interrupted initialization by this script exists. If no other node shares this" \
        "storage: stop Vault, move everything in $(raft_dir) into a backup directory, and start Vault" \
        "again. Storage was not touched"
}

# A key file next to a storage that was never initialized: the storage is new (wiped raft directory, new
# bucket path) or this is the wrong server. Initializing would replace the only copy of the old keys.
die_keys_without_storage() {
    kw_count=$(grep -c '[^[:space:]]' "$KEYS_FILE")
    kw_when=$(date -u -r "$KEYS_FILE" '+%Y-%m-%dT%H:%M:%SZ' 2>/dev/null || echo "unknown time")
    die "keys exist but the storage is not initialized: $KEYS_FILE ($kw_count keys, written $kw_when)," \
        "but $(describe_storage) at $VAULT_ADDR is not initialized. The storage is new (wiped raft data," \
        "new bucket path?) or this is the wrong server, and the script never initializes over existing keys." \
        "Point Vault back at the storage these keys belong to, or, if that storage is gone for good, move" \
        "$KEYS_FILE and $TOKEN_FILE to an offline backup and start again. Storage was not touched"
}

# Make sure the server is initialized and the keys are on disk, initializing it ourselves if nobody has.
# Returns 0, or (auto seal only) 4 when this node must join an existing cluster instead.
ensure_initialized() {
    # The lock holder needs at most LOCK_STALE_SECONDS; give waiters that plus the normal wait.
    phase_deadline=$(($(now) + VAULT_WAIT_SECONDS + LOCK_STALE_SECONDS))
    OWNERLESS_SINCE=""
    race_deadline=""
    waiting_logged=0
    while :; do
        if [ "$AUTO_SEAL" = 1 ] && [ ! -e "$JOURNAL_FILE" ] && [ ! -e "$RESPONSE_FILE" ]; then
            [ "$ST_INITIALIZED" = true ] && return 0
            if [ -e "$CLUSTER_MARKER" ]; then
                log "$CLUSTER_MARKER says this node belonged to an initialized cluster, but" \
                    "$(describe_storage) is empty: never initializing a second cluster, waiting to join"
                return 4
            fi
            if [ -s "$KEYS_FILE" ]; then
                peer_initialized && return 4
                die_keys_without_storage
            fi
        elif [ -s "$KEYS_FILE" ] && [ ! -e "$RESPONSE_FILE" ]; then
            [ "$ST_INITIALIZED" = true ] && return 0
            # The status may predate another copy's initialization that just stored these keys.
            wait_for_server
            [ "$ST_INITIALIZED" = true ] && return 0
            die_keys_without_storage
        fi
        if [ -n "$race_deadline" ]; then
            # The server said "already initialized" to us: the winner is about to store its keys.
            if [ "$(now)" -gt "$race_deadline" ]; then
                die "$VAULT_ADDR was initialized by someone else, and no unseal keys appeared at" \
                    "$KEYS_FILE within ${VAULT_WAIT_SECONDS}s: was it initialized with another keys" \
                    "directory? Storage was not touched"
            fi
        else
            # Prove the keys directory usable before taking a lock in it or touching the server.
            [ "$ST_INITIALIZED" = true ] || preflight
            if try_lock; then
                initialize_locked
                locked_result=$?
                release_lock
                case "$locked_result" in
                    0)
                        wait_for_server
                        continue
                        ;;
                    4) return 4 ;;
                    2)
                        log "$VAULT_ADDR was initialized by someone else meanwhile; waiting for $KEYS_FILE"
                        race_deadline=$(($(now) + VAULT_WAIT_SECONDS))
                        ;;
                esac
            elif [ ! -d "$LOCK_DIR" ] && [ ! -s "$KEYS_FILE" ]; then
                # mkdir failed for another reason than a lock: the keys directory is missing or read-only.
                # (A holder that stored the keys and let go in between leaves the key file: look again.)
                die "$VAULT_ADDR is initialized but no unseal keys at $KEYS_FILE (and $VAULT_KEYS_DIR is" \
                    "not writable): restore them from backup; storage was not touched"
            elif [ "$waiting_logged" = 0 ]; then
                # Another copy holds the lock: it is between `operator init` and storing the keys.
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

# Submit key line $1 of the key file. Sets SUBMIT to unsealed, accepted, rejected (the server refused this
# key on its own: not base64, wrong length) or failed (the shares so far did not combine), and SUBMIT_ERR.
# `write sys/unseal key=-` reads the key from stdin, unlike `operator unseal` which wants it in argv.
submit_key() {
    sk_out=$(sed -n "${1}p" "$KEYS_FILE" | tr -d ' \t\r' | "$VAULT_BIN" write -format=json sys/unseal key=- 2>&1)
    sk_rc=$?
    SUBMIT_ERR=""
    if [ "$sk_rc" = 0 ]; then
        SUBMIT=accepted
        [ "$(printf '%s' "$sk_out" | compact | json_field sealed)" = false ] && SUBMIT=unsealed
        return 0
    fi
    SUBMIT_ERR=$(printf '%s\n' "$sk_out" | api_errors)
    [ -n "$SUBMIT_ERR" ] || die "lost contact with $VAULT_ADDR while unsealing ($VAULT_BIN exited $sk_rc)"
    case "$SUBMIT_ERR" in
        *"must be a valid"* | *"shorter than"* | *"longer than"* | *"invalid key length"*) SUBMIT=rejected ;;
        *) SUBMIT=failed ;;
    esac
}

# Reset unseal progress and submit the key lines listed in $1 until the server unseals. Lines the server
# rejects are skipped and added to BAD_LINES once, with the reason. When the shares reach the threshold but
# do not combine, the server drops them; FAILED_SET then names the lines of that round. Returns 0 once
# unsealed.
try_lines() {
    "$VAULT_BIN" operator unseal -reset >/dev/null 2>&1
    tl_round=""
    for tl_line in $1; do
        case " $BAD_LINES " in
            *" $tl_line "*) continue ;;
        esac
        submit_key "$tl_line"
        case "$SUBMIT" in
            unsealed) return 0 ;;
            accepted) tl_round="$tl_round $tl_line" ;;
            rejected)
                BAD_LINES="$BAD_LINES $tl_line"
                USABLE=$((USABLE - 1))
                log "line $tl_line of $KEYS_FILE was rejected by $VAULT_ADDR ($SUBMIT_ERR); skipping it," \
                    "$USABLE keys left for threshold $UNSEAL_T"
                [ "$USABLE" -ge "$UNSEAL_T" ] || return 1
                ;;
            failed)
                UNSEAL_ERR=$SUBMIT_ERR
                FAILED_SET="$tl_round $tl_line"
                return 1
                ;;
        esac
    done
    return 1
}

# The non-blank key lines not in BAD_LINES, space-separated; "$1" drops one more.
usable_lines() {
    ul_i=1
    ul_out=""
    while [ "$ul_i" -le "$KEY_LINES" ]; do
        case " $BAD_LINES $1 " in
            *" $ul_i "*) ;;
            *) sed -n "${ul_i}p" "$KEYS_FILE" | grep -q '[^[:space:]]' && ul_out="$ul_out $ul_i" ;;
        esac
        ul_i=$((ul_i + 1))
    done
    printf '%s' "$ul_out"
}

unseal() {
    [ -r "$KEYS_FILE" ] || die "cannot read unseal keys at $KEYS_FILE"
    KEY_LINES=$(($(wc -l <"$KEYS_FILE") + 1))
    BAD_LINES=""
    UNSEAL_ERR=""
    FAILED_SET=""
    UNSEAL_T=$ST_T
    is_count "$UNSEAL_T" || UNSEAL_T=1
    USABLE=$(grep -c '[^[:space:]]' "$KEYS_FILE")
    if [ "$USABLE" -lt "$UNSEAL_T" ]; then
        die "$KEYS_FILE holds $USABLE keys but $VAULT_ADDR needs $UNSEAL_T to unseal"
    fi
    if try_lines "$(usable_lines "")"; then
        log "unsealed $VAULT_ADDR with the keys in $VAULT_KEYS_DIR${BAD_LINES:+ (skipped line(s)$BAD_LINES)}"
        return 0
    fi
    # A well-formed but corrupted share is only noticed when the threshold is reached and the shares do not
    # combine. Leave out one line of the failed round at a time; with one bad line, one of these unseals.
    if [ -n "$FAILED_SET" ] && [ "$USABLE" -gt "$UNSEAL_T" ]; then
        for un_skip in $FAILED_SET; do
            if try_lines "$(usable_lines "$un_skip")"; then
                log "line $un_skip of $KEYS_FILE does not combine with the other keys (corrupted?); unsealed" \
                    "$VAULT_ADDR without it. Replace that line from the offline copy"
                return 0
            fi
        done
    fi
    die "the keys in $KEYS_FILE did not unseal $VAULT_ADDR (threshold $UNSEAL_T, $USABLE usable keys" \
        "tried${BAD_LINES:+, rejected line(s)$BAD_LINES}; server said: ${UNSEAL_ERR:-still sealed}): are they" \
        "the keys of this server's storage?"
}

# True when a retry_join peer answers that its storage is initialized; PEER names it.
peer_initialized() {
    for PEER in $(raft_peers); do
        pi_out=$(VAULT_ADDR=$PEER BAO_ADDR=$PEER VAULT_CLIENT_TIMEOUT=$STATUS_TIMEOUT \
            BAO_CLIENT_TIMEOUT=$STATUS_TIMEOUT "$VAULT_BIN" status -format=json 2>/dev/null | compact)
        [ "$(printf '%s' "$pi_out" | json_field initialized)" = true ] && return 0
    done
    PEER=""
    return 1
}

# Record (not secret) that this node has been unsealed as part of an initialized storage.
mark_cluster() {
    [ -e "$CLUSTER_MARKER" ] && return 0
    { mkdir -p "$VAULT_KEYS_DIR" && chmod 700 "$VAULT_KEYS_DIR" &&
        write_secret "$CLUSTER_MARKER" "since=$(date -u '+%Y-%m-%dT%H:%M:%SZ')"; } 2>/dev/null ||
        log "warning: cannot write $CLUSTER_MARKER; an emptied storage on this node would not be recognized"
}

# Wait until the server unseals itself through its seal, joining through retry_join first when its own
# storage is empty ($1 = join). Nothing is submitted: if it stays sealed, say which seal and give up.
wait_auto_unsealed() {
    au_deadline=$(($(now) + VAULT_JOIN_WAIT_SECONDS))
    au_logged=0
    au_peers=$(raft_peers | tr '\n' ' ' | sed 's/ *$//')
    if [ "${1:-}" = join ] && [ -z "$au_peers" ]; then
        read_status
        [ "$ST_INITIALIZED" = true ] ||
            die "$(describe_storage) is empty and $VAULT_CONFIG names no retry_join peer to join; this node" \
                "does not initialize (VAULT_NODE_ROLE=$VAULT_NODE_ROLE or $CLUSTER_MARKER). Storage was not touched"
    fi
    while :; do
        read_status
        if [ "$ST_RC" = 0 ]; then
            log "unsealed $VAULT_ADDR through $(describe_seal)"
            mark_cluster
            return 0
        fi
        if [ -n "$SERVER_PID" ] && ! server_alive; then
            wait "$SERVER_PID"
            au_status=$?
            SERVER_PID=""
            die "$VAULT_BIN server exited with status $au_status while waiting to be unsealed by" \
                "$(describe_seal): is the seal reachable and its credentials valid? (the server log above says why)"
        fi
        if [ "$au_logged" = 0 ] && [ "$ST_INITIALIZED" != true ]; then
            log "waiting for $VAULT_ADDR to join its cluster through retry_join ($au_peers)"
            au_logged=1
        fi
        if [ "$(now)" -gt "$au_deadline" ]; then
            if [ "$ST_INITIALIZED" = true ]; then
                die "$VAULT_ADDR is initialized but still sealed after ${VAULT_JOIN_WAIT_SECONDS}s:" \
                    "$(describe_seal) did not unseal it (unreachable, wrong token, missing key?). No key was" \
                    "submitted and storage was not touched"
            fi
            die "$VAULT_ADDR did not join a cluster within ${VAULT_JOIN_WAIT_SECONDS}s: no retry_join peer" \
                "($au_peers) let it in, or $(describe_seal) could not unseal it after joining. It never" \
                "initializes on its own; storage was not touched"
        fi
        nap
    done
}

# The auto-seal counterpart of init_and_unseal: initialize with recovery keys where this node may and
# nobody has, otherwise only wait for the server to join and unseal itself.
auto_init_and_unseal() {
    wait_for_server
    if [ "$VAULT_NODE_ROLE" = join ]; then
        wait_auto_unsealed join
        return
    fi
    if [ "$ST_RC" = 0 ] && [ ! -e "$JOURNAL_FILE" ] && [ ! -e "$RESPONSE_FILE" ]; then
        log "unsealed $VAULT_ADDR through $(describe_seal) (it was unsealed at the first look)"
        mark_cluster
        return 0
    fi
    ensure_initialized
    if [ $? = 4 ]; then
        wait_auto_unsealed join
    else
        wait_auto_unsealed
    fi
}

init_and_unseal() {
    if [ "$AUTO_SEAL" = 1 ]; then
        auto_init_and_unseal
        return
    fi
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
    is_count "$VAULT_ROOT_TOKEN_POLL_SECONDS" ||
        die "VAULT_ROOT_TOKEN_POLL_SECONDS must be a positive integer, got '$VAULT_ROOT_TOKEN_POLL_SECONDS'"
    is_count "$VAULT_JOIN_WAIT_SECONDS" ||
        die "VAULT_JOIN_WAIT_SECONDS must be a positive integer, got '$VAULT_JOIN_WAIT_SECONDS'"
    case "$VAULT_SEAL_KIND" in
        shamir-file | transit | awskms) ;;
        *) die "VAULT_SEAL_KIND must be shamir-file, transit or awskms, got '$VAULT_SEAL_KIND'" ;;
    esac
    case "$VAULT_NODE_ROLE" in
        bootstrap) ;;
        join)
            [ "$AUTO_SEAL" = 1 ] || die "VAULT_NODE_ROLE=join needs an auto seal (VAULT_SEAL_KIND transit or" \
                "awskms): a joining node has no unseal keys of its own"
            ;;
        *) die "VAULT_NODE_ROLE must be bootstrap or join, got '$VAULT_NODE_ROLE'" ;;
    esac
    if [ -r "$VAULT_CONFIG" ]; then
        cs_seal=$(sed -n 's/^seal *"\([^"]*\)".*/\1/p' "$VAULT_CONFIG" | head -n 1)
        if [ "$AUTO_SEAL" = 1 ] && [ "$cs_seal" != "$VAULT_SEAL_KIND" ]; then
            die "VAULT_SEAL_KIND=$VAULT_SEAL_KIND but $VAULT_CONFIG has ${cs_seal:+a seal \"$cs_seal\" stanza}" \
                "${cs_seal:-no seal stanza}; the two must agree"
        fi
        if [ "$AUTO_SEAL" = 0 ] && [ -n "$cs_seal" ]; then
            die "$VAULT_CONFIG has a seal \"$cs_seal\" stanza but VAULT_SEAL_KIND is shamir-file: this" \
                "script would try to unseal with key shares; set VAULT_SEAL_KIND=$cs_seal"
        fi
    fi
    if [ -n "$VAULT_SEAL_TOKEN_FILE" ] && [ ! -s "$VAULT_SEAL_TOKEN_FILE" ]; then
        die "VAULT_SEAL_TOKEN_FILE=$VAULT_SEAL_TOKEN_FILE is missing or empty: the transit seal needs its token"
    fi
    if [ "$VAULT_SEAL_KIND" = transit ] && [ -z "$VAULT_SEAL_TOKEN_FILE" ]; then
        die "VAULT_SEAL_KIND=transit needs VAULT_SEAL_TOKEN_FILE, the file holding the transit server's token"
    fi
}

# True when Vault answers that the token in TOKEN_FILE is no longer valid (revoked or expired); false
# while it works and whenever the answer is anything else (sealed, unreachable), so a file is never
# deleted on a guess. The token reaches the CLI through its environment only, never as an argument.
root_token_refused() {
    rt_token=""
    IFS= read -r rt_token <"$TOKEN_FILE" 2>/dev/null || [ -n "$rt_token" ] || return 1
    rt_err=$(VAULT_TOKEN=$rt_token BAO_TOKEN=$rt_token VAULT_CLIENT_TIMEOUT=$STATUS_TIMEOUT \
        BAO_CLIENT_TIMEOUT=$STATUS_TIMEOUT "$VAULT_BIN" token lookup -format=json 2>&1 >/dev/null)
    rt_rc=$?
    rt_token=""
    [ "$rt_rc" != 0 ] || return 1
    case "$rt_err" in
        *"permission denied"* | *"bad token"*) return 0 ;;
    esac
    return 1
}

# In the background while the server runs: delete the root token file once Vault refuses the token.
watch_root_token() {
    [ -e "$TOKEN_FILE" ] || return 0
    (
        # A stop ends the pause too, so no sleep outlives the container's processes.
        rw_nap=""
        trap '[ -n "$rw_nap" ] && kill "$rw_nap" 2>/dev/null; exit 0' TERM INT
        trap - EXIT
        while [ -e "$TOKEN_FILE" ]; do
            if root_token_refused; then
                rm -f "$TOKEN_FILE" && flush "$VAULT_KEYS_DIR"
                log "the root token in $TOKEN_FILE is revoked; deleted the file"
                exit 0
            fi
            sleep "$VAULT_ROOT_TOKEN_POLL_SECONDS" &
            rw_nap=$!
            wait "$rw_nap"
            rw_nap=""
        done
    ) &
    WATCHER_PID=$!
}

serve() {
    [ -r "$VAULT_CONFIG" ] || die "cannot read server config $VAULT_CONFIG"
    start_server
    init_and_unseal
    PHASE=running
    watch_root_token
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
