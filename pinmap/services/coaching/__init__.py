"""Clusters and the coaching year, one module per job; every name is re-exported here.

membership (lookups, cluster moves), dashboard (completeness, best practices, results),
rounds (monitoring rounds, office status, cluster sessions), calendar (iCalendar writing),
planner (hosts and invitees on the database), plans (visit plan CRUD and records), exports,
offices (what reaches the offices: messages, published records, follow-ups, findings).
Services take the session first, add and flush, never commit: the view commits once.
"""

from __future__ import annotations

# Views read the time zone as svc.BANGKOK.
from ...fiscal import BANGKOK as BANGKOK
from .calendar import ics_calendar as ics_calendar
from .calendar import ics_escape as ics_escape
from .calendar import ics_fold as ics_fold
from .dashboard import DUE_SOON_DAYS as DUE_SOON_DAYS
from .dashboard import REPORTED_STATES as REPORTED_STATES
from .dashboard import OfficeCompleteness as OfficeCompleteness
from .dashboard import RoundCell as RoundCell
from .dashboard import cluster_best_practices as cluster_best_practices
from .dashboard import completeness as completeness
from .dashboard import completeness_summary as completeness_summary
from .dashboard import evaluation as evaluation
from .dashboard import reported_keys as reported_keys
from .dashboard import results_vs_national as results_vs_national
from .exports import EXPORT_HEADER as EXPORT_HEADER
from .exports import csv_safe as csv_safe
from .exports import dumps as dumps
from .exports import export_rows as export_rows
from .exports import plan_csv as plan_csv
from .exports import plan_geojson as plan_geojson
from .exports import plan_ics as plan_ics
from .exports import plan_xlsx as plan_xlsx
from .exports import xlsx_available as xlsx_available
from .membership import cluster_labels as cluster_labels
from .membership import cluster_moves as cluster_moves
from .membership import cluster_offices as cluster_offices
from .membership import get_cluster as get_cluster
from .membership import get_office as get_office
from .membership import lonlat as lonlat
from .membership import move_office as move_office
from .membership import move_office_cluster as move_office_cluster
from .offices import REPORT_MAX as REPORT_MAX
from .offices import FollowUpView as FollowUpView
from .offices import Summary as Summary
from .offices import acknowledge as acknowledge
from .offices import findings_sent as findings_sent
from .offices import follow_up_views as follow_up_views
from .offices import get_record as get_record
from .offices import office_findings as office_findings
from .offices import office_plans as office_plans
from .offices import office_records as office_records
from .offices import office_sessions as office_sessions
from .offices import office_sessions_ics as office_sessions_ics
from .offices import plan_office_ids as plan_office_ids
from .offices import publish_record as publish_record
from .offices import report_follow_up as report_follow_up
from .offices import report_rounds as report_rounds
from .offices import send_findings as send_findings
from .offices import summary as summary
from .planner import GREAT_CIRCLE_NOTE as GREAT_CIRCLE_NOTE
from .planner import NEAREST_K_RANGE as NEAREST_K_RANGE
from .planner import RADIUS_KM_RANGE as RADIUS_KM_RANGE
from .planner import Proposal as Proposal
from .planner import check_k as check_k
from .planner import check_radius as check_radius
from .planner import invitees_within as invitees_within
from .planner import nearest_offices as nearest_offices
from .planner import propose as propose
from .plans import ORDER_METHODS as ORDER_METHODS
from .plans import create_plan as create_plan
from .plans import get_plan as get_plan
from .plans import list_plans as list_plans
from .plans import plan_dict as plan_dict
from .plans import publish_plan as publish_plan
from .plans import record_visit as record_visit
from .plans import save_plan as save_plan
from .plans import visible_plan as visible_plan
from .plans import visit_records as visit_records
from .rounds import KIND_OF_ROUND as KIND_OF_ROUND
from .rounds import ROUND_COLUMNS as ROUND_COLUMNS
from .rounds import ROUND_STATUSES as ROUND_STATUSES
from .rounds import cluster_sessions as cluster_sessions
from .rounds import get_round as get_round
from .rounds import list_rounds as list_rounds
from .rounds import load_rounds as load_rounds
from .rounds import parse_rounds as parse_rounds
from .rounds import round_statuses as round_statuses
from .rounds import save_round as save_round
from .rounds import session_event as session_event
from .rounds import sessions_ics as sessions_ics
from .rounds import set_cluster_session as set_cluster_session
from .rounds import set_round_status as set_round_status
