using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Retention;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMedia.Api;

/// <summary>Retention policies, legal holds and the purge, for administrators (right <c>admin</c>).</summary>
public static class RetentionApi
{
    public static void MapRetentionApi(this RouteGroupBuilder api)
    {
        api.MapGet("/retention/policies", PoliciesAsync).WithSummary("The retention policies (admin).");
        api.MapPost("/retention/policies", AddPolicyAsync)
            .Accepts<PolicyRequest>("application/json")
            .WithSummary("Add a retention policy; where several cover a call, the longest wins (admin).");
        api.MapDelete("/retention/policies/{id}", DeletePolicyAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("Delete a retention policy (admin).");
        api.MapGet("/retention/holds", HoldsAsync).WithSummary("Legal holds, newest first; all=true includes released ones (admin).");
        api.MapPost("/retention/holds", PlaceHoldAsync)
            .Accepts<HoldRequest>("application/json")
            .WithSummary("Place a legal hold on a call, a sid, a number or a time range (admin).");
        api.MapPost("/retention/holds/{id}/release", ReleaseHoldAsync)
            .Accepts<ReleaseRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Release a legal hold; who, when and why are recorded (admin).");
        api.MapPost("/retention/run", RunAsync)
            .Accepts<RunRequest>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Purge now, or with dryRun only report what would go and the bytes freed (admin).");
    }

    public static async Task<Results<Ok<PolicyList>, ProblemHttpResult>> PoliciesAsync(HttpContext context, RetentionStore store)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        return TypedResults.Ok(new PolicyList { Items = (await store.PoliciesAsync(context.RequestAborted)).Select(ToPolicy).ToList() });
    }

    public static async Task<Results<Created<PolicyView>, ProblemHttpResult>> AddPolicyAsync(HttpContext context, RetentionStore store, RequestAudit audit)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var body = await ApiInput.ReadBodyAsync<PolicyRequest>(context.Request);
        var policy = await Checked(() => store.AddPolicyAsync(body.Name, body.Media ?? "all", body.Numbers ?? [], body.Keep, Entry(context, audit), context.RequestAborted));
        return TypedResults.Created($"/api/v1/retention/policies/{policy.Id}", ToPolicy(policy));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePolicyAsync(string id, HttpContext context, RetentionStore store, RequestAudit audit)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        return ApiInput.Id(id) is { } policyId && await store.DeletePolicyAsync(policyId, Entry(context, audit), context.RequestAborted)
            ? TypedResults.NoContent()
            : ApiProblems.NotFound("No such policy.");
    }

    public static async Task<Results<Ok<HoldList>, ProblemHttpResult>> HoldsAsync(HttpContext context, RetentionStore store, string? all = null)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var everything = all switch
        {
            null or "" or "false" => false,
            "true" => true,
            _ => throw new ApiInputException("all must be true or false.", "all"),
        };
        return TypedResults.Ok(new HoldList { Items = (await store.HoldsAsync(!everything, context.RequestAborted)).Select(ToHold).ToList() });
    }

    public static async Task<Results<Created<HoldView>, ProblemHttpResult>> PlaceHoldAsync(HttpContext context, RetentionStore store, RequestAudit audit)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var body = await ApiInput.ReadBodyAsync<HoldRequest>(context.Request);
        var hold = new NewHold(body.CallId, body.Sid, body.Number, ApiInput.Time(body.From, "from", null), ApiInput.Time(body.To, "to", null), body.Reason);
        var placed = await Checked(() => store.PlaceHoldAsync(hold, Entry(context, audit), context.RequestAborted));
        return TypedResults.Created($"/api/v1/retention/holds/{placed.Id}", ToHold(placed));
    }

    public static async Task<Results<Ok<HoldView>, ProblemHttpResult>> ReleaseHoldAsync(string id, HttpContext context, RetentionStore store, RequestAudit audit)
    {
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var body = await ApiInput.ReadBodyAsync<ReleaseRequest>(context.Request);
        if (ApiInput.Id(id) is not { } holdId)
        {
            return ApiProblems.NotFound("No such hold.");
        }

        var result = await Checked(() => store.ReleaseHoldAsync(holdId, body.Reason, Entry(context, audit), context.RequestAborted));
        return result switch
        {
            null => ApiProblems.NotFound("No such hold."),
            { Released: false } => ApiProblems.Conflict("This hold was released already."),
            { } r => TypedResults.Ok(ToHold(r.Hold)),
        };
    }

    public static async Task<Results<Ok<PurgeView>, ProblemHttpResult>> RunAsync(HttpContext context, RetentionPurge purge)
    {
        var caller = ApiCaller.Of(context);
        if (!IsAdmin(context))
        {
            return AdminOnly();
        }

        var body = await ApiInput.ReadBodyAsync<RunRequest>(context.Request);
        PurgeReport report;
        try
        {
            report = await purge.RunAsync(body.DryRun, caller.User.Name, Hosting.HttpContextExtensions.ClientAddress(context), ct: context.RequestAborted);
        }
        catch (RetentionBusyException ex)
        {
            return ApiProblems.Conflict(ex.Message);
        }

        return TypedResults.Ok(new PurgeView
        {
            DryRun = report.DryRun,
            Calls = report.Calls.Count,
            Files = report.Files,
            Bytes = report.Bytes,
            Items = report.Calls.Take(1000).Select(c => new PurgedCallView
            {
                Id = c.CoupleId,
                Sid = c.Sid,
                Media = MediaType.Names(c.Types),
                Policies = c.Policies.Split(','),
                Files = c.Files,
                Bytes = c.Bytes,
            }).ToList(),
        });
    }

    private static AuditEntry Entry(HttpContext context, RequestAudit audit) =>
        audit.Entry(context, ApiCaller.Of(context).User.Name, "admin.retention", "ok");

    private static async Task<T> Checked<T>(Func<Task<T>> change)
    {
        try
        {
            return await change();
        }
        catch (RetentionInputException ex)
        {
            throw new ApiInputException(ex.Message[..1].ToUpperInvariant() + ex.Message[1..], ex.Field);
        }
    }

    private static bool IsAdmin(HttpContext context) => ApiCaller.Of(context).User.Has(Rights.Admin);

    private static ProblemHttpResult AdminOnly() => ApiProblems.Forbidden("Retention needs the right admin.");

    private static DateTimeOffset? Time(long? ms) => ms is { } t ? DateTimeOffset.FromUnixTimeMilliseconds(t) : null;

    private static PolicyView ToPolicy(RetentionPolicy p) => new()
    {
        Id = p.Id,
        Name = p.Name,
        Media = p.Media,
        Numbers = p.NumberList,
        Keep = p.Keep,
        CreatedBy = p.CreatedBy,
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(p.CreatedAt),
    };

    private static HoldView ToHold(LegalHold h) => new()
    {
        Id = h.Id,
        CallId = h.CoupleId,
        Sid = h.Sid,
        Number = h.Number,
        From = Time(h.FromAt),
        To = Time(h.ToAt),
        Reason = h.Reason,
        PlacedBy = h.PlacedBy,
        PlacedAt = DateTimeOffset.FromUnixTimeMilliseconds(h.PlacedAt),
        Active = h.Active,
        ReleasedAt = Time(h.ReleasedAt),
        ReleasedBy = h.ReleasedBy,
        ReleaseReason = h.ReleaseReason,
    };
}

public sealed record PolicyRequest
{
    public required string Name { get; init; }

    /// <summary><c>audio</c>, <c>video</c> (videos and screen captures) or <c>all</c> (the default).</summary>
    public string? Media { get; init; }

    /// <summary>Only calls from or to these numbers; absent or empty: every call.</summary>
    public IReadOnlyList<string>? Numbers { get; init; }

    /// <summary>How long after the call ended: <c>90d</c>, <c>12w</c>, <c>6m</c>, <c>3y</c>.</summary>
    public required string Keep { get; init; }
}

public sealed record PolicyView
{
    public required long Id { get; init; }

    public required string Name { get; init; }

    public required string Media { get; init; }

    public required IReadOnlyList<string> Numbers { get; init; }

    public required string Keep { get; init; }

    public required string CreatedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}

public sealed record PolicyList
{
    public required IReadOnlyList<PolicyView> Items { get; init; }
}

/// <summary>Exactly one of callId, sid, number, or from and/or to (a range of the calls' start), and a reason.</summary>
public sealed record HoldRequest
{
    public long? CallId { get; init; }

    public string? Sid { get; init; }

    public string? Number { get; init; }

    public string? From { get; init; }

    public string? To { get; init; }

    public required string Reason { get; init; }
}

public sealed record ReleaseRequest
{
    public string? Reason { get; init; }
}

public sealed record HoldView
{
    public required long Id { get; init; }

    public required long? CallId { get; init; }

    public required string? Sid { get; init; }

    public required string? Number { get; init; }

    public required DateTimeOffset? From { get; init; }

    public required DateTimeOffset? To { get; init; }

    public required string Reason { get; init; }

    public required string PlacedBy { get; init; }

    public required DateTimeOffset PlacedAt { get; init; }

    public required bool Active { get; init; }

    public required DateTimeOffset? ReleasedAt { get; init; }

    public required string? ReleasedBy { get; init; }

    public required string? ReleaseReason { get; init; }
}

public sealed record HoldList
{
    public required IReadOnlyList<HoldView> Items { get; init; }
}

/// <summary>A purge deletes recordings for good: the request says which it is, never a default of "purge".</summary>
public sealed record RunRequest
{
    public required bool DryRun { get; init; }
}

public sealed record PurgedCallView
{
    public required long Id { get; init; }

    public required string Sid { get; init; }

    public required IReadOnlyList<string> Media { get; init; }

    public required IReadOnlyList<string> Policies { get; init; }

    public required int Files { get; init; }

    public required long Bytes { get; init; }
}

public sealed record PurgeView
{
    public required bool DryRun { get; init; }

    public required int Calls { get; init; }

    public required int Files { get; init; }

    public required long Bytes { get; init; }

    /// <summary>The calls (at most 1000; the counts cover all).</summary>
    public required IReadOnlyList<PurgedCallView> Items { get; init; }
}
