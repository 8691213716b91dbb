using CallMedia.Auth;

namespace CallMedia.Calls;

public enum AccessVerdict
{
    Allowed,
    Forbidden,
    NotFound,
}

/// <summary>
/// Whether a user may have the named couples. A user with a limited scope gets Forbidden for a couple that does
/// not exist, exactly as for one outside the scope, so existence is never revealed (API.md §2, §5). Naming no couple
/// at all (a <c>sid</c> that matches none) is a couple that does not exist.
/// </summary>
public sealed class CoupleAccess(CallStore calls)
{
    public async Task<(AccessVerdict Verdict, IReadOnlyDictionary<long, Couple> Couples)> CheckAsync(
        UserAccess user, string right, IReadOnlyList<long> ids, CancellationToken ct = default)
    {
        if (!user.Has(right) || ids.Count == 0)
        {
            return (Verdict(user, right, ids, EmptyCouples), EmptyCouples);
        }

        var couples = await calls.GetCouplesAsync(ids, ct);
        return (Verdict(user, right, ids, couples), couples);
    }

    /// <summary>
    /// <see cref="CheckAsync"/> for a delivery: the couples' media files are read with the couples, in one round trip
    /// where the database allows it, or taken from <paramref name="read"/> when it already ran (in the redeeming
    /// transaction); they are handed out only when access is allowed.
    /// </summary>
    public async Task<(AccessVerdict Verdict, IReadOnlyDictionary<long, Couple> Couples, ILookup<long, MediaFile>? Files)> CheckWithFilesAsync(
        UserAccess user, string right, IReadOnlyList<long> ids, CallStore.CouplesWithFiles? read = null, CancellationToken ct = default)
    {
        if (!user.Has(right) || ids.Count == 0)
        {
            return (Verdict(user, right, ids, EmptyCouples), EmptyCouples, null);
        }

        var (couples, files) = read is { Done: true } ? read.Result : await calls.GetCouplesWithFilesAsync(ids, ct);
        var verdict = Verdict(user, right, ids, couples);
        return (verdict, couples, verdict == AccessVerdict.Allowed ? files : null);
    }

    private static readonly IReadOnlyDictionary<long, Couple> EmptyCouples = new Dictionary<long, Couple>();

    private static AccessVerdict Verdict(UserAccess user, string right, IReadOnlyList<long> ids, IReadOnlyDictionary<long, Couple> couples)
    {
        if (!user.Has(right))
        {
            return AccessVerdict.Forbidden;
        }

        if (ids.Count == 0)
        {
            return Missing(user);
        }

        foreach (var id in ids)
        {
            if (!couples.TryGetValue(id, out var couple))
            {
                return Missing(user);
            }

            if (!user.CanSee(couple.CallingNumber, couple.CalledNumber))
            {
                return AccessVerdict.Forbidden;
            }
        }

        return AccessVerdict.Allowed;
    }

    /// <summary>A couple that does not exist: 404 only to a user who could see it if it did.</summary>
    private static AccessVerdict Missing(UserAccess user) => user.ScopeAll ? AccessVerdict.NotFound : AccessVerdict.Forbidden;
}
