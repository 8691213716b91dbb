using CallMedia.Hosting;

namespace CallMedia.Auth;

/// <summary>Who is asking: the live session and its user's rights and scope, once per request (from <see cref="AuthCache"/> while exact).</summary>
public sealed record Caller(SessionInfo Session, UserAccess User)
{
    public string Name => User.Name;
}

/// <summary>
/// The one place that turns a request into a <see cref="Caller"/> (session → user → rights → scope). Outcomes, for
/// every endpoint that needs a session (docs/api-notes.md, "Who is asking"):
/// <list type="table">
/// <item><term>no session id, unknown, ended, idle or too old</term><description>null: the endpoint answers 302 to the sign-in page</description></item>
/// <item><term>user disabled, or gone since the session began</term><description>null: the same 302 (the session is no longer valid)</description></item>
/// <item><term>otherwise</term><description>the caller; rights and scope are checked per couple by <c>CoupleAccess</c></description></item>
/// </list>
/// </summary>
public sealed class Callers(SessionService sessions, UserStore users, AuthCache cache)
{
    public async Task<Caller?> ResolveAsync(HttpContext context)
    {
        await foreach (var caller in LiveAsync(context))
        {
            return caller;
        }

        return null;
    }

    /// <summary>
    /// Every live caller the request carries, in the order <see cref="ResolveAsync"/> tries them: a browser signed in
    /// both through <c>/callrec</c> and the web app sends two session cookies, and a token is bound to one of them.
    /// </summary>
    public async Task<IReadOnlyList<Caller>> ResolveEachAsync(HttpContext context)
    {
        var callers = new List<Caller>();
        await foreach (var caller in LiveAsync(context))
        {
            callers.Add(caller);
        }

        return callers;
    }

    /// <summary>The path parameter, else each JSESSIONID cookie, as far as it names a live session of an enabled user.</summary>
    private async IAsyncEnumerable<Caller> LiveAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var candidates = context.SessionCandidates();
        if (candidates.Count == 0)
        {
            yield break;
        }

        // One short query says whether what this node holds in memory (AuthCache) is still exact.
        var version = await cache.ReadVersionAsync(ct);
        foreach (var candidate in candidates)
        {
            if (await sessions.ResolveAsync(candidate, version, ct) is not { } session)
            {
                continue;
            }

            var user = cache.User(session.UserId, version);
            if (user is null && (user = await users.LoadAccessAsync(session.UserId, ct)) is not null)
            {
                cache.Keep(version, user);
            }

            if (user is { Disabled: false })
            {
                yield return new Caller(session, user);
            }
        }
    }
}
