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
        if (!user.Has(right))
        {
            return (AccessVerdict.Forbidden, new Dictionary<long, Couple>());
        }

        if (ids.Count == 0)
        {
            return (Missing(user), new Dictionary<long, Couple>());
        }

        var couples = await calls.GetCouplesAsync(ids, ct);
        foreach (var id in ids)
        {
            if (!couples.TryGetValue(id, out var couple))
            {
                return (Missing(user), couples);
            }

            if (!user.CanSee(couple.CallingNumber, couple.CalledNumber))
            {
                return (AccessVerdict.Forbidden, couples);
            }
        }

        return (AccessVerdict.Allowed, couples);
    }

    /// <summary>A couple that does not exist: 404 only to a user who could see it if it did.</summary>
    private static AccessVerdict Missing(UserAccess user) => user.ScopeAll ? AccessVerdict.NotFound : AccessVerdict.Forbidden;
}
