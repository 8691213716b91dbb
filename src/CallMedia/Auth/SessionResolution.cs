using CallMedia.Hosting;

namespace CallMedia.Auth;

public static class SessionResolution
{
    /// <summary>The live session of a request: the first of its candidate ids (path parameter, then each cookie) that resolves.</summary>
    public static async Task<SessionInfo?> ResolveRequestAsync(this SessionService sessions, HttpContext context)
    {
        foreach (var candidate in context.SessionCandidates())
        {
            if (await sessions.ResolveAsync(candidate, context.RequestAborted) is { } session)
            {
                return session;
            }
        }

        return null;
    }
}
