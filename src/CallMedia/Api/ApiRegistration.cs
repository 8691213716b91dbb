using CallMedia.Audit;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CallMedia.Api;

/// <summary>The JSON API (/api/v1), its OpenAPI document (/openapi/v1.json) and reference page (/api/docs).</summary>
public static class ApiRegistration
{
    public const string Prefix = "/api/v1";

    public static IServiceCollection AddApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.Section)).ValidateOnStart();
        services.AddSingleton<AuditQuery>();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Detail ??= c.ProblemDetails.Status switch
        {
            StatusCodes.Status415UnsupportedMediaType => "Send Content-Type: application/json.",
            StatusCodes.Status405MethodNotAllowed => "This method is not allowed here.",
            StatusCodes.Status404NotFound => "No such resource.",
            _ => c.ProblemDetails.Title ?? "Error.",
        });

        // Numbers are numbers: the web defaults would also accept (and document) numbers written as strings.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict);
        services.AddOpenApi("v1", o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith(Prefix.TrimStart('/') + "/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "CallMedia API";
                document.Info.Version = "v1";
                document.Info.Description = "Calls, tokens, prepare jobs, the audit and retention of CallMedia. See docs/api-v1.md.";
                return Task.CompletedTask;
            });
            o.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonTypeInfo.Type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))
                {
                    // What every /api/v1 problem carries, and the extensions it may carry.
                    schema.Required = new HashSet<string> { "type", "title", "status", "detail" };
                    schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
                    schema.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String };
                    schema.Properties["errors"] = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Description = "The fields that are wrong, each with what is wrong with it.",
                        AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                    };
                }

                return Task.CompletedTask;
            });
        });
        return services;
    }

    private static Task NotStoredUnlessSaid(object state)
    {
        var response = (HttpResponse)state;
        if (response.Headers.CacheControl.Count == 0)
        {
            response.Headers.CacheControl = "no-store";
        }

        return Task.CompletedTask;
    }

    public static void MapApi(this WebApplication app)
    {
        // Answers the framework gives without a body (415 from the content-type check, 405, 404 of an unknown
        // /api/v1 path) become problem details too.
        // And every answer is the caller's own (their calls, the audit, their session): not kept by a browser or a
        // proxy, unless the endpoint says otherwise (the waveform's "private, no-cache").
        app.UseWhen(c => c.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal), branch => branch
            .Use((context, next) =>
            {
                context.Response.OnStarting(NotStoredUnlessSaid, context.Response);
                return next(context);
            })
            .UseStatusCodePages());
        var api = app.MapGroup(Prefix)
            .AddEndpointFilter(ApiGuards.ProblemsAsync)
            .AddEndpointFilter(ApiGuards.JsonBodyAsync)
            .AddEndpointFilter(ApiGuards.SingleValuedQueryAsync)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        var signedIn = api.MapGroup("")
            .AddEndpointFilter(ApiCaller.RequireAsync)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGroup("").WithTags("Session").MapSessionApi(signedIn.MapGroup("").WithTags("Session"));
        signedIn.MapGroup("").WithTags("Calls").MapCallsApi();
        signedIn.MapGroup("").WithTags("Tokens and jobs").MapTokensApi();
        signedIn.MapGroup("").WithTags("Audit").MapAuditApi();
        signedIn.MapGroup("").WithTags("Retention").MapRetentionApi();

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/api/docs", o => o
            .WithTitle("CallMedia API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .DisableDefaultFonts()
            .WithNonce());
    }
}
