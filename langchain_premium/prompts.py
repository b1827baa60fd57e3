"""Prompt templates from the paper's Appendix I (generation, LaMP-2, candidate generator) and baselines."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import BasePromptTemplate, ChatPromptTemplate, MessagesPlaceholder

GENERATION_SYSTEM = (
    "You are a helpful assistant. Answer the user's question.\n"
    "Where it helps the answer, bring in elements, perspectives, examples and terminology "
    "from the following domains: {tags}.{style_instruction}"
)

#: The default prompt: the chosen tags in the system message, then any chat history, then the query.
DEFAULT_GENERATION_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", GENERATION_SYSTEM),
        MessagesPlaceholder("history", optional=True),
        ("human", "{query}"),
    ]
)


def style_instruction(styles: Sequence[str]) -> str:
    """The sentence that asks for the chosen binary styles, or ``""`` when there are none."""
    if not styles:
        return ""
    return "\nAlso write in the following writing styles: " + ", ".join(styles) + "."


def generation_variables(
    query: str, tags: Sequence[str], styles: Sequence[str] = (), history: Sequence = ()
) -> dict:
    """The variables a generation template may use: ``query``, ``tags``, ``style_instruction``,
    ``styles`` and ``history``."""
    return {
        "query": query,
        "tags": ", ".join(tags),
        "styles": ", ".join(styles),
        "style_instruction": style_instruction(styles),
        "history": list(history),
    }


def format_declared(prompt: BasePromptTemplate, variables: Mapping[str, Any]) -> PromptValue:
    """``prompt`` formatted with those of ``variables`` it declares (a custom template may use
    only some of :func:`generation_variables`)."""
    wanted = set(prompt.input_variables) | set(prompt.optional_variables)
    return prompt.format_prompt(**{k: v for k, v in variables.items() if k in wanted})


def output_text(output: Any) -> str:
    """The text of a model's output: a chat model's message (its ``.text``) or a string.

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> output_text(AIMessage(content="Hi")), output_text("Hi")
        ('Hi', 'Hi')
    """
    return str(output.text) if isinstance(output, BaseMessage) else str(output)


# --- LLM Candidate Generator (PREMIUM-Prompt, paper Table 19) -----------------------------------

CANDIDATE_GENERATOR_SYSTEM = (
    "You choose tags that personalise an assistant's answers for one user. The user cares about "
    "a few domains, each named by a tag in a Tag Library. You receive the Tag Library, the "
    "user's new query and some of the user's past interactions.\n"
    "Each past interaction shows the earlier query, the tag sets that were used to write "
    "several responses to it, those responses, and how the user ranked the responses (best "
    "first). The user ranks responses by how well they follow the instructions and answer the "
    "question, and by how relevant they are to the domains the user cares about. A tag set that "
    "was used is not necessarily one the user likes: judge each tag by where its responses "
    "ended up in the user's ranking.\n"
    "Infer the domains the user is interested in, then propose {m} different tag sets of "
    "exactly {k} tags each for the new query. Every tag must name a domain the user seems to "
    "care about, be relevant to the new query, and be copied exactly from the Tag Library: "
    "never invent a tag. No tag may appear twice within a set and no two sets may be equal. "
    "Put the set you are most confident in first; later sets may try other plausible tags.\n"
    "First explain your analysis of the past interactions and why you chose these tags. "
    "Answer in exactly this format, one line per tag set, tags separated by \", \":\n"
    "(Explanation) your analysis\n"
    "(Tag Set 1) {k} tags from the Tag Library\n"
    "... and so on up to (Tag Set {m})\n"
    "(The End of Answer)"
)

CANDIDATE_GENERATOR_HUMAN = (
    "(Task) Propose {m} tag sets of {k} tags each.\n"
    "(Tag Library) {tag_library}\n"
    "(User Query) {query}\n"
    "(Interaction Histories)\n"
    "{histories}"
)

#: PREMIUM-Prompt's candidate generator: variables ``k``, ``m``, ``tag_library``, ``query``,
#: ``histories`` (see :func:`format_interaction_history`).
CANDIDATE_GENERATOR_PROMPT = ChatPromptTemplate.from_messages(
    [("system", CANDIDATE_GENERATOR_SYSTEM), ("human", CANDIDATE_GENERATOR_HUMAN)]
)

#: What the candidate generator is told when its answer cannot be used (one retry).
CANDIDATE_GENERATOR_RETRY = (
    "Your answer could not be used: {errors}. Answer again in the required format, with "
    "exactly {m} tag sets of {k} different tags, every tag copied exactly from the Tag Library."
)

NO_HISTORY = "(none yet: this is the user's first query)"


def format_interaction_history(
    index: int,
    query: str,
    tag_sets: Sequence[Sequence[str]],
    answers: Sequence[str],
    ranking: Sequence[int],
    max_answer_chars: int = 400,
) -> str:
    """One past interaction as the candidate generator reads it (responses numbered from 1).

    Example:
        >>> print(format_interaction_history(1, "Plan a trip", [["Hiking"], ["Opera"]],
        ...                                  ["Walk the ridge.", "See a show."], [1, 0]))
        (The Start of Interaction History 1)
        Previous Query: Plan a trip
        Tag Set Candidates: [Response 1] Hiking; [Response 2] Opera
        Responses:
        [Response 1] Walk the ridge.
        [Response 2] See a show.
        User's Preference Ranking: Response 2 > Response 1
        (The End of Interaction History 1)
    """
    sets = "; ".join(f"[Response {i + 1}] {', '.join(tags)}" for i, tags in enumerate(tag_sets))
    lines = [
        f"(The Start of Interaction History {index})",
        f"Previous Query: {_one_line(query, 4 * max_answer_chars)}",
        f"Tag Set Candidates: {sets}",
        "Responses:",
        *(f"[Response {i + 1}] {_one_line(a, max_answer_chars)}" for i, a in enumerate(answers)),
        "User's Preference Ranking: " + " > ".join(f"Response {i + 1}" for i in ranking)
        + ("" if len(ranking) == len(tag_sets) else " (the others were not ranked)"),
        f"(The End of Interaction History {index})",
    ]
    return "\n".join(lines)


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)].rstrip() + "..."


# --- LaMP-2 movie tagging (paper Table 17) ------------------------------------------------------

LAMP2_SYSTEM = (
    "Decide which of the tags listed below the movie described by the user relates to. The "
    "user also gives a reference opinion: if it is reasonable, your answer should simply be "
    "the reference opinion; otherwise answer with the tag you believe is right. Just answer "
    "with the tag name, without any explanation.\n"
    "tags: [{tag_list}]\n"
    "The user's input gives a movie description, then a reference opinion. Your answer must "
    "be exactly one of the tags above."
)


def lamp2_generation_prompt(tags: Sequence[str]) -> ChatPromptTemplate:
    """PREMIUM's LaMP-2 prompt: the selected tag (k = 1) is the "reference opinion".

    Variables: ``query`` (the movie description) and ``tags`` (the selected tag).

    Example:
        >>> prompt = lamp2_generation_prompt(["comedy", "sci-fi"])
        >>> prompt.format_messages(query="A robot paints.", tags="sci-fi")[1].content
        '(Movie Description) A robot paints.\\n(Reference Opinion) sci-fi'
    """
    return ChatPromptTemplate.from_messages(
        [("system", LAMP2_SYSTEM), ("human", "(Movie Description) {query}\n(Reference Opinion) {tags}")]
    ).partial(tag_list=", ".join(tags))


LAMP2_PROFILE_SYSTEM = (
    "{profile_section}{retrieved_section}"
    "Decide which of the tags listed below the movie described by the user relates to, the "
    "way this user tags movies. Just answer with the tag name, without any explanation.\n"
    "tags: [{tag_list}]\n"
    "Your answer must be exactly one of the tags above."
)


def lamp2_profile_prompt(tags: Sequence[str]) -> ChatPromptTemplate:
    """The TidyBot/OPPU LaMP-2 prompt: user profile, then retrieved items, then the task.

    Variables: ``query`` (the movie description), ``profile_section``, ``retrieved_section``.

    Example:
        >>> lamp2_profile_prompt(["comedy"]).format_messages(
        ...     query="A dog runs a cafe.", profile_section="", retrieved_section="")[1].content
        '(Movie Description) A dog runs a cafe.'
    """
    return ChatPromptTemplate.from_messages(
        [("system", LAMP2_PROFILE_SYSTEM), ("human", "(Movie Description) {query}")]
    ).partial(tag_list=", ".join(tags))


# --- TidyBot- and OPPU-style baselines ----------------------------------------------------------

#: The generation prompt with what a text-history baseline knows about the user in front of the
#: task: variables of :data:`DEFAULT_GENERATION_PROMPT` plus ``profile_section`` and
#: ``retrieved_section`` (each empty or ending in a blank line).
PROFILE_GENERATION_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "{profile_section}{retrieved_section}" + GENERATION_SYSTEM),
        MessagesPlaceholder("history", optional=True),
        ("human", "{query}"),
    ]
)


def profile_section(profile: str) -> str:
    """The prompt section holding a user profile, or ``""`` when there is none."""
    profile = profile.strip()
    return f"About this user (written from their history): {profile}\n\n" if profile else ""


def retrieved_section(items: Sequence[tuple[str, str]], max_chars: int = 400) -> str:
    """The prompt section listing retrieved history items ``(query, preferred answer)``.

    Example:
        >>> print(retrieved_section([("A dog runs a cafe.", "comedy")]), end="")
        Items from this user's history that may be relevant:
        [1] Query: A dog runs a cafe.
            Preferred answer: comedy
        <BLANKLINE>
    """
    if not items:
        return ""
    lines = ["Items from this user's history that may be relevant:"]
    for i, (query, answer) in enumerate(items, start=1):
        lines.append(f"[{i}] Query: {_one_line(query, max_chars)}")
        lines.append(f"    Preferred answer: {_one_line(answer, max_chars)}")
    return "\n".join(lines) + "\n\n"


def format_user_history(items: Sequence[tuple[str, str]], max_chars: int = 400) -> str:
    """A user's history ``(query, preferred answer)`` as the profile writers read it.

    Example:
        >>> print(format_user_history([("A dog runs a cafe.", "comedy")]))
        (User History)
        [1] Query: A dog runs a cafe.
            Preferred answer: comedy
        (End of User History)
    """
    lines = ["(User History)"]
    for i, (query, answer) in enumerate(items, start=1):
        lines.append(f"[{i}] Query: {_one_line(query, max_chars)}")
        lines.append(f"    Preferred answer: {_one_line(answer, max_chars)}")
    lines.append("(End of User History)")
    return "\n".join(lines)


TIDYBOT_SUMMARY_SYSTEM = (
    "You summarise what one user likes. You see questions the user asked and, for each, the "
    "answer the user chose as the best. Generalise across them: name the topics, perspectives "
    "and styles the user favours instead of repeating the examples. Reply with a single short "
    "line and nothing else."
)

_TIDYBOT_EXAMPLES = [
    (
        [
            ("How can I spend less on groceries?",
             "Think like a household budget: plan meals around cheap staples, track spending per "
             "week, and favour nutritious whole foods over processed snacks."),
            ("What should I cook on a busy weeknight?",
             "A balanced plate of protein, whole grains and vegetables, costed per portion so it "
             "stays within budget."),
        ],
        "The user prefers practical answers framed by personal finance and nutrition.",
    ),
    (
        [
            ("A detective in a future megacity hunts rogue androids.", "sci-fi"),
            ("After the war, machines ration every citizen's water.", "dystopia"),
            ("A crew slips through a wormhole and meets themselves.", "sci-fi"),
        ],
        "The user mostly chooses sci-fi, then dystopia.",
    ),
]

#: TidyBot-style few-shot summariser: two worked examples, then ``history`` (a formatted
#: :func:`format_user_history`). Only the first line of the reply is kept.
TIDYBOT_SUMMARY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", TIDYBOT_SUMMARY_SYSTEM),
        *[
            message
            for items, summary in _TIDYBOT_EXAMPLES
            for message in (
                ("human", format_user_history(items).replace("{", "{{").replace("}", "}}")),
                ("ai", summary),
            )
        ],
        ("human", "{history}"),
    ]
)

OPPU_PROFILE_SYSTEM = (
    "Write a short profile of one user from items of their history: questions the user asked "
    "and the answers the user preferred. In two or three sentences, describe the user's "
    "interests and preferences, naming the topics and perspectives that recur. Reply with the "
    "profile only."
)

#: OPPU-style profile writer over about ten history items (variable ``history``).
OPPU_PROFILE_PROMPT = ChatPromptTemplate.from_messages(
    [("system", OPPU_PROFILE_SYSTEM), ("human", "{history}")]
)


# -- the AI annotator (paper Appendix I, Table 18) --------------------------------------------

ANNOTATOR_SYSTEM = (
    "You judge answers that a language model wrote for one user, and rank them from best to "
    "worst for that user.\n"
    "The user is interested in these domains: {user_tags}.{user_styles}\n"
    "You will see the user's question and {m} numbered responses. Rank them by how well each "
    "one follows the user's instructions and answers the question, and by how much it draws on "
    "the domains the user is interested in{style_criterion}. A response may lean on domains the "
    "user does not care about: point such mistakes out. Remember that the user's real interests "
    "are: {user_tags}.{user_styles}\n"
    "Judge the content only: the position of a response and its length must not sway you.\n"
    "First write an explanation of your judgement that refers to the user's interests, then the "
    "ranking. Answer in exactly this format:\n"
    "(Explanation) <your explanation>\n"
    "(Ranking) <the response numbers from best to worst, separated by \", \", every number "
    "exactly once and nothing else, e.g. {ranking_example}>\n"
    "(The End of AI Feedback)"
)

ANNOTATOR_HUMAN = "(User Question) {query}\n\n{responses}"

#: The AI annotator's prompt: variables ``user_tags``, ``user_styles``, ``style_criterion``,
#: ``m``, ``ranking_example``, ``query`` and ``responses`` (see :func:`annotator_variables`).
DEFAULT_ANNOTATOR_PROMPT = ChatPromptTemplate.from_messages(
    [("system", ANNOTATOR_SYSTEM), ("human", ANNOTATOR_HUMAN)]
)


def annotator_variables(
    query: str, answers: Sequence[str], tags: Sequence[str], styles: Sequence[str] = ()
) -> dict:
    """The variables of :data:`DEFAULT_ANNOTATOR_PROMPT` for one ranking task."""
    m = len(answers)
    responses = "\n\n".join(
        f"(The Start of Response {i}) {answer} (The End of Response {i})"
        for i, answer in enumerate(answers, start=1)
    )
    return {
        "user_tags": ", ".join(tags),
        "user_styles": (" The user prefers answers written in these styles: " + ", ".join(styles) + ".")
        if styles else "",
        "style_criterion": " and how closely it matches the user's preferred writing styles"
        if styles else "",
        "m": m,
        "ranking_example": ", ".join(str(i) for i in [*range(2, m + 1), 1]) if m > 1 else "1",
        "query": query,
        "responses": responses,
    }
