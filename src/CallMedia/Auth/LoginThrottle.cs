using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Auth;

/// <summary>
/// Throttles failed sign-ins per name and per client address, in the database so every node counts the same
/// failures. After the free failures, each attempt must wait a delay that doubles per failure up to a cap; an
/// attempt inside the wait is refused without checking the password. Unknown names are counted like known ones,
/// so throttling says nothing about which names exist.
/// </summary>
public sealed class LoginThrottle(Database db, TimeProvider clock, IOptions<LoginOptions> options)
{
    private sealed class FailureRow
    {
        public string ThrottleKey { get; set; } = "";

        public long Failures { get; set; }

        public long LastFailure { get; set; }
    }

    public async Task<bool> IsThrottledAsync(string? name, string address, CancellationToken ct = default)
    {
        var keys = Keys(name, address);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var o = options.Value;
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<FailureRow>(
            $"SELECT throttle_key, failures, last_failure FROM login_failures WHERE {db.In("throttle_key", "keys")}", new { keys });
        return rows.Any(r =>
        {
            var free = r.ThrottleKey.StartsWith("n:", StringComparison.Ordinal) ? o.FreeFailuresPerName : o.FreeFailuresPerAddress;
            var since = now - r.LastFailure;
            return since < o.ForgetAfter.TotalMilliseconds && r.Failures >= free && since < Delay(r.Failures - free, o).TotalMilliseconds;
        });
    }

    public Task RecordFailureAsync(string? name, string address, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var forgetBefore = now - (long)options.Value.ForgetAfter.TotalMilliseconds;
        return db.WriteAsync(
            async connection =>
            {
                foreach (var key in Keys(name, address))
                {
                    await connection.ExecuteAsync(
                        """
                        INSERT INTO login_failures (throttle_key, failures, last_failure) VALUES (@key, 1, @now)
                        ON CONFLICT (throttle_key) DO UPDATE SET
                            failures = CASE WHEN login_failures.last_failure < @forgetBefore THEN 1 ELSE login_failures.failures + 1 END,
                            last_failure = @now
                        """,
                        new { key, now, forgetBefore });
                }

                return 0;
            },
            ct);
    }

    /// <summary>A successful sign-in clears the name's failures (the address keeps its count until it is forgotten).</summary>
    public Task RecordSuccessAsync(string name, CancellationToken ct = default) =>
        db.WriteAsync(connection => connection.ExecuteAsync("DELETE FROM login_failures WHERE throttle_key = @key", new { key = NameKey(name) }), ct);

    public static TimeSpan Delay(long failuresBeyondFree, LoginOptions o)
    {
        var factor = Math.Pow(2, Math.Min(failuresBeyondFree, 40));
        var ms = Math.Min(o.BaseDelay.TotalMilliseconds * factor, o.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    private static string[] Keys(string? name, string address) =>
        string.IsNullOrEmpty(name) ? ["a:" + address] : [NameKey(name), "a:" + address];

    private static string NameKey(string name)
    {
        var normalized = name.Trim().ToUpperInvariant();
        return "n:" + (normalized.Length > 200 ? normalized[..200] : normalized);
    }
}
