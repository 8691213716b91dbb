using System.Data.Common;
using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Auth;

/// <summary>
/// Throttles failed sign-ins, in the database so every node counts the same failures. Three counts: one per
/// (name, address) pair, the one that normally bites; one per address, against spraying many names; and a much
/// higher brake per name, against one name guessed from many addresses, which holds back only addresses that
/// have failed for that name themselves. So an attacker elsewhere can never lock a user out: the right password
/// from an address with no recent failures for the name gets in. After the free failures each attempt must wait a
/// delay that doubles per failure up to a cap; an attempt inside the wait is refused without checking the password
/// and restarts the wait of its pair and address. The check and the recording of the attempt are one transaction:
/// an admitted attempt is counted as a failure before its password is checked (and taken back on success), so
/// concurrent guesses cannot all pass the check. Unknown names are counted like known ones.
/// </summary>
public sealed class LoginThrottle(Database db, TimeProvider clock, IOptions<LoginOptions> options)
{
    private sealed class FailureRow
    {
        public string ThrottleKey { get; set; } = "";

        public long Failures { get; set; }

        public long LastFailure { get; set; }
    }

    /// <summary>
    /// Admits an attempt and counts it as a failure, or refuses it. Returns null when admitted, otherwise how long the
    /// caller must wait.
    /// </summary>
    public async Task<TimeSpan?> TryAdmitAsync(string? name, string address, CancellationToken ct = default)
    {
        var keys = Keys(name, address);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var o = options.Value;
        var forgetBefore = now - (long)o.ForgetAfter.TotalMilliseconds;
        return await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                foreach (var key in keys)
                {
                    await connection.ExecuteAsync(
                        "INSERT INTO login_failures (throttle_key, failures, last_failure) VALUES (@key, 0, 0) ON CONFLICT (throttle_key) DO NOTHING",
                        new { key },
                        tx);
                }

                // Row locks on PostgreSQL (keys in a fixed order, so two attempts never wait on each other in a cycle);
                // SQLite's write transaction already excludes every other writer.
                var rows = (await connection.QueryAsync<FailureRow>(
                    $"SELECT throttle_key, failures, last_failure FROM login_failures WHERE {db.In("throttle_key", "keys")} ORDER BY throttle_key"
                        + (db.Kind == DbKind.Postgres ? " FOR UPDATE" : ""),
                    new { keys },
                    tx)).ToDictionary(r => r.ThrottleKey, StringComparer.Ordinal);
                var pairFailed = rows.TryGetValue(keys[0], out var pair) && pair.Failures > 0 && pair.LastFailure >= forgetBefore;
                TimeSpan? wait = null;
                foreach (var row in rows.Values)
                {
                    var free = FreeFailures(row.ThrottleKey, o);
                    var since = now - row.LastFailure;
                    if (row.LastFailure < forgetBefore || row.Failures < free || (IsNameKey(row.ThrottleKey) && !pairFailed))
                    {
                        continue;
                    }

                    var delay = Delay(row.Failures - free, o);
                    if (since < delay.TotalMilliseconds)
                    {
                        // The pair and the address start their wait again; the name's brake does not (that one is shared).
                        var remaining = IsNameKey(row.ThrottleKey) ? delay - TimeSpan.FromMilliseconds(since) : delay;
                        wait = wait is null || remaining > wait ? remaining : wait;
                    }
                }

                if (wait is not null)
                {
                    await connection.ExecuteAsync(
                        "UPDATE login_failures SET last_failure = @now WHERE throttle_key = @key AND failures > 0",
                        keys.Where(k => !IsNameKey(k)).Select(key => new { key, now }),
                        tx);
                }
                else
                {
                    await connection.ExecuteAsync(
                        """
                        UPDATE login_failures SET
                            failures = CASE WHEN last_failure < @forgetBefore THEN 1 ELSE failures + 1 END,
                            last_failure = @now
                        WHERE throttle_key = @key
                        """,
                        keys.Select(key => new { key, now, forgetBefore }),
                        tx);
                }

                await tx.CommitAsync(ct);
                return wait;
            },
            ct);
    }

    /// <summary>A successful sign-in: the pair's failures are cleared, and the attempt's own count is taken back.</summary>
    public Task RecordSuccessAsync(string name, string address, CancellationToken ct = default) =>
        db.WriteAsync(
            async connection =>
            {
                var keys = Keys(name, address);
                await using var tx = await connection.BeginTransactionAsync(ct);
                await connection.ExecuteAsync("DELETE FROM login_failures WHERE throttle_key = @key", new { key = keys[0] }, tx);
                await connection.ExecuteAsync(
                    "UPDATE login_failures SET failures = failures - 1 WHERE throttle_key = @key AND failures > 0",
                    keys.Skip(1).Select(key => new { key }),
                    tx);
                await tx.CommitAsync(ct);
                return 0;
            },
            ct);

    /// <summary>Deletes counts that are forgotten anyway; returns how many.</summary>
    public Task<int> PurgeAsync(CancellationToken ct = default)
    {
        var forgetBefore = clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)options.Value.ForgetAfter.TotalMilliseconds;
        return db.WriteAsync(connection => connection.ExecuteAsync("DELETE FROM login_failures WHERE last_failure < @forgetBefore", new { forgetBefore }), ct);
    }

    public static TimeSpan Delay(long failuresBeyondFree, LoginOptions o)
    {
        var factor = Math.Pow(2, Math.Min(failuresBeyondFree, 40));
        var ms = Math.Min(o.BaseDelay.TotalMilliseconds * factor, o.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    private static long FreeFailures(string key, LoginOptions o) => key[0] switch
    {
        'p' => o.FreeFailuresPerNameAndAddress,
        'n' => o.FreeFailuresPerName,
        _ => o.FreeFailuresPerAddress,
    };

    private static bool IsNameKey(string key) => key.StartsWith("n:", StringComparison.Ordinal);

    /// <summary>The pair first (or the address alone for a nameless attempt), then the address and the name.</summary>
    private static string[] Keys(string? name, string address)
    {
        if (string.IsNullOrEmpty(name))
        {
            return ["a:" + address];
        }

        var normalized = name.Trim().ToUpperInvariant();
        normalized = normalized.Length > 200 ? normalized[..200] : normalized;
        return ["p:" + address + " " + normalized, "a:" + address, "n:" + normalized];
    }
}
