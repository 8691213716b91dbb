using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Delivery;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Tokens;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CallMedia.Api;

/// <summary>Download tokens (the very tokens of the CallREC service, redeemed at /callrec/sendcallfile.*) and prepare jobs.</summary>
public static class TokensApi
{
    private const string NoSuchJob = "No such job.";

    public static void MapTokensApi(this RouteGroupBuilder api)
    {
        api.MapPost("/tokens", IssueAsync)
            .Accepts<TokenRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Issue a download token; redeem it at the returned url (same session).");
        api.MapPost("/calls/{id}/prepare", PrepareAsync)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Mix the call's screen capture with its audio into a video, as a job.");
        api.MapGet("/jobs/{id}", JobAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("A prepare job's state.");
    }

    public static async Task<Results<Created<IssuedToken>, ProblemHttpResult>> IssueAsync(
        HttpContext context, CallStore calls, TimeProvider clock, IOptions<TokenOptions> tokenOptions, IOptions<ApiOptions> apiOptions)
    {
        var body = await ApiInput.ReadBodyAsync<TokenRequest>(context.Request);
        var caller = ApiCaller.Of(context);
        var action = body.Action switch
        {
            "stream" => TokenAction.Stream,
            "download" => TokenAction.Download,
            "prepare" => TokenAction.Prepare,
            _ => throw new ApiInputException("action must be stream, download or prepare.", "action"),
        };
        var reason = body.Reason?.Trim();
        if (reason is { Length: > 500 } || (reason is not null && reason.Any(char.IsControl)))
        {
            throw new ApiInputException("reason must be at most 500 characters, without control characters.", "reason");
        }

        if (string.IsNullOrEmpty(reason))
        {
            if (apiOptions.Value.RequireReason)
            {
                throw new ApiInputException("A reason is required for every token (Web:RequireReason).", "reason");
            }

            reason = null;
        }

        if (body.Ids.Count == 0 || body.Ids.Any(i => i <= 0))
        {
            throw new ApiInputException("ids must name at least one call, each a positive integer.", "ids");
        }

        var ids = body.Ids.Distinct().ToList();
        if (ids.Count > tokenOptions.Value.MaxIdsPerToken)
        {
            throw new ApiInputException($"at most {tokenOptions.Value.MaxIdsPerToken} ids per token.", "ids");
        }

        TokenCriteria criteria;
        try
        {
            criteria = TokenCriteria.ForIds(ids, body.Type, action);
        }
        catch (ParameterException ex)
        {
            throw new ApiInputException(ex.Message + ".");
        }

        DeliveryOptions options;
        try
        {
            options = DeliveryOptions.Parse(body.Channels, body.Format, body.Name, body.Tz, body.Sidecar ? "1" : null, criteria.Type, criteria.Action);
        }
        catch (DeliveryOptionException ex)
        {
            throw new ApiInputException(ex.Message + ".", ex.Parameter);
        }

        var reader = context.RequestServices.GetRequiredService<DeliveryOptionsReader>();
        var extras = reader.Extras(options);
        var outcome = await context.RequestServices.GetRequiredService<TokenIssue>().IssueAsync(
            context, new Caller(caller.Session, caller.User), criteria, reason, extras.Options, extras.Vet);
        switch (outcome.Result)
        {
            case IssueResult.NotFound:
            case IssueResult.Forbidden when caller.User.Has(criteria.RequiredRight):
                // Missing or outside the scope: the same answer, so existence is never revealed.
                return ApiProblems.NotFound("No such call (or not in your scope).");
            case IssueResult.Forbidden:
                return ApiProblems.Forbidden($"This needs the right {criteria.RequiredRight}.");
            case IssueResult.RateLimited:
                return ApiProblems.TooMany(context, "Too many tokens for this session in the last minute; retry later.", TimeSpan.FromSeconds(60));
            case IssueResult.Unprocessable:
                return ApiProblems.Problem(StatusCodes.Status422UnprocessableEntity, "Unprocessable", outcome.Message!);
        }

        var token = outcome.Token!;
        var extension = options switch
        {
            { Sidecar: true } => "zip",
            { ConvertsAudio: true } when outcome.CoupleIds.Count == 1 =>
                await reader.ExtensionAsync(options, outcome.CoupleIds[0], criteria.Action == TokenAction.Stream, context.RequestAborted) ?? options.Format ?? "mp3",
            _ => await ExtensionAsync(calls, criteria, context.RequestAborted),
        };
        return TypedResults.Created(
            (string?)null,
            new IssuedToken
            {
                Token = token,
                Url = $"/callrec/sendcallfile.{extension}?token={token}",
                Expires = clock.GetUtcNow() + tokenOptions.Value.Lifetime,
            });
    }

    /// <summary>The url's extension says what will come back: Safari and players trust it.</summary>
    private static async Task<string> ExtensionAsync(CallStore calls, TokenCriteria criteria, CancellationToken ct)
    {
        if (criteria.Action != TokenAction.Download)
        {
            return criteria.Type == MediaType.Video ? "mp4" : "mp3";
        }

        if (criteria.CoupleIds.Count > 1)
        {
            return "zip";
        }

        var id = criteria.CoupleIds[0];
        var files = (await calls.GetFilesAsync([id], ct))[id].Where(f => f.Type == criteria.Type).ToList();
        return files.Count switch
        {
            1 => files[0].Format,
            0 => criteria.Type == MediaType.Video ? "mp4" : "mp3",
            _ => "zip",
        };
    }

    /// <summary>Every prepare asked for is audited (API.md §7), as through <c>/callrec</c>: who, which call, and what came of it.</summary>
    public static async Task<Results<Ok<Job>, Accepted<Job>, ProblemHttpResult>> PrepareAsync(string id, HttpContext context, CallStore calls, PrepareJobs jobs, RequestAudit audit)
    {
        var user = ApiCaller.Of(context).User;
        if (await CallsApi.VisibleAsync(context, id) is not { } couple)
        {
            return ApiProblems.NotFound("No such call.");
        }

        var coupleId = couple.Id.ToString(CultureInfo.InvariantCulture);
        if (!user.Has(Rights.VideoPrepare))
        {
            await audit.WriteAsync(context, user.Name, "prepare", "forbidden", coupleId);
            return ApiProblems.Forbidden("Preparing a video needs the right video.prepare.");
        }

        var ct = context.RequestAborted;
        var files = (await calls.GetFilesAsync([couple.Id], ct))[couple.Id].ToList();
        if (files.Any(f => f.Type == MediaType.Video))
        {
            await audit.WriteAsync(context, user.Name, "prepare", "ready", coupleId);
            return TypedResults.Ok(new Job { Id = 0, CoupleId = couple.Id, State = "done", Progress = 100 });
        }

        if (!files.Any(f => f.Type == MediaType.Recd))
        {
            return ApiProblems.Conflict("This call has no screen capture to prepare.");
        }

        await audit.WriteAsync(context, user.Name, "prepare", "requested", coupleId);
        var jobId = await jobs.EnqueueAsync(couple.Id, ct);
        var job = await jobs.GetAsync(jobId, ct);
        var answer = job is null ? new Job { Id = jobId, CoupleId = couple.Id, State = "queued", Progress = 0 } : CallsApi.ToJob(job);
        return TypedResults.Accepted($"/api/v1/jobs/{jobId.ToString(CultureInfo.InvariantCulture)}", answer);
    }

    public static async Task<Results<Ok<Job>, ProblemHttpResult>> JobAsync(string id, HttpContext context, PrepareJobs jobs, CallStore calls)
    {
        var user = ApiCaller.Of(context).User;
        var job = ApiInput.Id(id) is { } jobId ? await jobs.GetAsync(jobId, context.RequestAborted) : null;
        if (job is null || !user.Has(Rights.VideoPrepare))
        {
            return ApiProblems.NotFound(NoSuchJob);
        }

        var couples = await calls.GetCouplesAsync([job.CoupleId], context.RequestAborted);
        if (!couples.TryGetValue(job.CoupleId, out var couple) || !user.CanSee(couple.CallingNumber, couple.CalledNumber))
        {
            return ApiProblems.NotFound(NoSuchJob);
        }

        return TypedResults.Ok(CallsApi.ToJob(job));
    }
}
