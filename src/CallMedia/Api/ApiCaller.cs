using CallMedia.Auth;

namespace CallMedia.Api;

/// <summary>Who is calling: the live session and the user's rights and scope, loaded fresh for the request.</summary>
public sealed record ApiCaller(SessionInfo Session, UserAccess User)
{
    private const string ItemKey = "callmedia.api-caller";

    /// <summary>
    /// The caller preamble of /api/v1: the shared one (<see cref="Callers"/>), which the CallREC paths use too.
    /// Null when there is no live session or its user is gone or disabled.
    /// </summary>
    public static async Task<ApiCaller?> ResolveAsync(HttpContext context) =>
        await context.RequestServices.GetRequiredService<Callers>().ResolveAsync(context) is { } caller ? new ApiCaller(caller.Session, caller.User) : null;

    /// <summary>The caller the group's filter resolved for this request.</summary>
    public static ApiCaller Of(HttpContext context) =>
        context.Items[ItemKey] as ApiCaller ?? throw new InvalidOperationException("endpoint is outside the signed-in group");

    /// <summary>Resolves the caller before the handler runs; no session → 401 problem (never a redirect).</summary>
    public static async ValueTask<object?> RequireAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var caller = await ResolveAsync(invocation.HttpContext);
        if (caller is null)
        {
            return ApiProblems.Unauthorized();
        }

        invocation.HttpContext.Items[ItemKey] = caller;
        return await next(invocation);
    }
}
