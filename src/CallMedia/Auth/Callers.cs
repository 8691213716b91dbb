using CallMedia.Hosting;

namespace CallMedia.Auth;

/// <summary>Who is asking: the live session and its user's rights and scope, loaded once per request.</summary>
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
public sealed class Callers(SessionService sessions, UserStore users)
{
    public async Task<Caller?> ResolveAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var session = await sessions.ResolveRequestAsync(context);
        if (session is null)
        {
            return null;
        }

        var user = await users.LoadAccessAsync(session.UserId, ct);
        return user is null || user.Disabled ? null : new Caller(session, user);
    }
}
